/**
 * Bytes → lines of text, in time linear in the file size whatever the row length: BOM and UTF-16
 * handling (sniff.ts), LF, CRLF and CR-only line ends, and per-line decoding so that a line with
 * bytes that are not text (bad UTF-8, a lone UTF-16 surrogate, a NUL) comes back marked with the
 * byte offset of the first bad byte while every other line still comes.
 */
import type { ImportFile } from './inputs.ts';
import { firstInvalidUtf8, firstLoneSurrogate, sniffEncoding, SNIFF_BYTES, type TextEncodingName } from './sniff.ts';

export class DecodeError extends Error {
  constructor(
    readonly code: 'binary_file' | 'empty_file',
    message: string,
  ) {
    super(message);
    this.name = 'DecodeError';
  }
}

/** Bytes of a line that are not text: `offset` is the byte offset of the first one in the file. */
export interface BadBytes {
  kind: 'encoding' | 'nul';
  offset: number;
}

export interface Line {
  /** 1-based line number (LF, CRLF and a lone CR each end a line). */
  line: number;
  /** The line without its line end; with `bad`, bytes that are not text became U+FFFD. */
  text: string;
  /** Byte offset of the line's first byte in the file. */
  offset: number;
  /** False for a last line that no line end follows. */
  eol: boolean;
  bad?: BadBytes;
}

/** Sniffs a file; throws DecodeError for empty and binary files. */
export async function sniffFile(file: ImportFile): Promise<{ encoding: TextEncodingName; bomLength: number }> {
  if (file.size === 0) throw new DecodeError('empty_file', 'empty file (0 bytes)');
  const sniffed = sniffEncoding(await file.slice(0, Math.min(file.size, SNIFF_BYTES)));
  if (!sniffed.ok) throw new DecodeError(sniffed.code, sniffed.reason);
  return sniffed;
}

/** What the user reads about a bad line. */
export function badBytesReason(bad: BadBytes, encoding: TextEncodingName): string {
  if (bad.kind === 'nul')
    return `the line has a NUL byte (at byte ${bad.offset} of the file), which text never has; remove it`;
  const name = encoding.startsWith('utf-16') ? encoding.toUpperCase() : 'UTF-8';
  const hint = name === 'UTF-8' ? ' (perhaps Latin-1 or Windows-1252: save the file as UTF-8)' : '';
  return `the line is not valid ${name}: bad bytes at byte ${bad.offset} of the file${hint}; fix or remove them`;
}

interface LineCodec {
  label: string;
  /** Bytes per code unit: 1 for UTF-8, 2 for UTF-16. */
  width: number;
  /** The code unit at byte i (i is a multiple of width). */
  unit(b: Uint8Array, i: number): number;
  fatal: TextDecoder;
  lossy: TextDecoder;
  /** Byte index of the first bad byte of a line that failed to decode. */
  firstBad(b: Uint8Array): number;
}

function codecFor(encoding: TextEncodingName): LineCodec {
  const label = encoding === 'utf-8-bom' ? 'utf-8' : encoding;
  // ignoreBOM: the BOM is skipped by us (bomLength), so a second one is kept as text.
  const base = {
    label,
    fatal: new TextDecoder(label, { fatal: true, ignoreBOM: true }),
    lossy: new TextDecoder(label, { ignoreBOM: true }),
  };
  if (encoding === 'utf-16le')
    return {
      ...base,
      width: 2,
      unit: (b, i) => b[i]! | (b[i + 1]! << 8),
      firstBad: (b) => firstLoneSurrogate(b, false),
    };
  if (encoding === 'utf-16be')
    return {
      ...base,
      width: 2,
      unit: (b, i) => (b[i]! << 8) | b[i + 1]!,
      firstBad: (b) => firstLoneSurrogate(b, true),
    };
  return { ...base, width: 1, unit: (b, i) => b[i]!, firstBad: (b) => firstInvalidUtf8(b) };
}

/**
 * A line that spans chunks, decoded piece by piece as its bytes arrive so they are not kept: a
 * row of any length costs one copy of its text. A line that turns out not to be text is read again
 * from the file (only then are its bytes needed, for the offset of the first bad byte).
 */
class PendingLine {
  private pieces: string[] = [];
  private readonly decoder: TextDecoder;
  private failed = false;
  private nul = -1;
  private length = 0;
  constructor(
    private readonly codec: LineCodec,
    readonly start: number,
  ) {
    this.decoder = new TextDecoder(codec.label, { fatal: true, ignoreBOM: true });
  }
  add(segment: Uint8Array): void {
    if (!this.failed) {
      if (this.codec.width === 1 && this.nul < 0) {
        const z = segment.indexOf(0);
        if (z >= 0) this.nul = this.start + this.length + z;
      }
      try {
        this.pieces.push(this.decoder.decode(segment, { stream: true }));
      } catch {
        this.failed = true;
        this.pieces = [];
      }
    }
    this.length += segment.byteLength;
  }
  async finish(file: ImportFile, line: number, eol: boolean): Promise<Line> {
    const offset = this.start;
    if (!this.failed) {
      try {
        this.pieces.push(this.decoder.decode());
        const text = this.pieces.join('');
        const nul = this.codec.width === 1 ? this.nul : text.indexOf('\0') < 0 ? -1 : offset + text.indexOf('\0') * 2;
        return nul < 0 ? { line, text, offset, eol } : { line, text, offset, eol, bad: { kind: 'nul', offset: nul } };
      } catch {
        // not text: read the bytes again below
      }
    }
    return decodeLine(this.codec, await file.slice(offset, offset + this.length), line, offset, eol);
  }
}

function decodeLine(codec: LineCodec, bytes: Uint8Array, line: number, offset: number, eol = true): Line {
  try {
    const text = codec.fatal.decode(bytes);
    const nul = codec.width === 1 ? bytes.indexOf(0) : text.indexOf('\0') * 2;
    if (nul < 0) return { line, text, offset, eol };
    return { line, text, offset, eol, bad: { kind: 'nul', offset: offset + nul } };
  } catch {
    const at = Math.max(0, codec.firstBad(bytes));
    return { line, text: codec.lossy.decode(bytes), offset, eol, bad: { kind: 'encoding', offset: offset + at } };
  }
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Finds line ends in UTF-8 bytes: two cached indexOf positions, so each byte is looked at a
 * constant number of times however many lines a chunk holds.
 */
class ByteBreaks {
  /** Next LF / CR at or after the last query; -2 when there is none left. */
  private lf = -1;
  private cr = -1;
  constructor(private readonly b: Uint8Array) {}
  private find(byte: number, cached: number, from: number): number {
    if (cached === -2 || cached >= from) return cached;
    const at = this.b.indexOf(byte, from);
    return at < 0 ? -2 : at;
  }
  next(from: number): number {
    this.lf = this.find(LF, this.lf, from);
    this.cr = this.find(CR, this.cr, from);
    if (this.lf < 0) return this.cr < 0 ? -1 : this.cr;
    return this.cr < 0 ? this.lf : Math.min(this.lf, this.cr);
  }
}

/**
 * Streams the lines of a text file without holding the file: each chunk is searched once for line
 * ends and a line that spans chunks is decoded piece by piece (PendingLine), so a row of any
 * length costs time and memory proportional to its size.
 */
export async function* readLines(file: ImportFile, onBytes?: (bytesRead: number) => void): AsyncGenerator<Line> {
  const { encoding, bomLength } = await sniffFile(file);
  const codec = codecFor(encoding);
  const w = codec.width;
  const reader = file.stream().getReader();
  let read = 0;
  let lineNo = 1;
  let lineStart = bomLength;
  let pending: PendingLine | null = null;
  /** A CR ended the previous chunk: a LF starting this one belongs to it. */
  let afterCr = false;
  /** UTF-16: the odd byte left at the end of the previous chunk. */
  let odd: number | null = null;
  let done = false;
  try {
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      let bytes = chunk.value;
      let base = read;
      read += bytes.byteLength;
      if (base < bomLength) {
        const cut = Math.min(bomLength - base, bytes.byteLength);
        bytes = bytes.subarray(cut);
        base += cut;
      }
      if (w === 2) {
        if (odd !== null) {
          const joined = new Uint8Array(bytes.byteLength + 1);
          joined[0] = odd;
          joined.set(bytes, 1);
          bytes = joined;
          base -= 1;
          odd = null;
        }
        if (bytes.byteLength % 2) {
          odd = bytes[bytes.byteLength - 1]!;
          bytes = bytes.subarray(0, bytes.byteLength - 1);
        }
      }
      let i = 0;
      if (afterCr && bytes.byteLength >= w) {
        if (codec.unit(bytes, 0) === LF) {
          i = w;
          lineStart += w;
        }
        afterCr = false;
      }
      const breaks = w === 1 ? new ByteBreaks(bytes) : null;
      for (;;) {
        let br = -1;
        if (breaks) br = breaks.next(i);
        else {
          for (let j = i; j < bytes.byteLength; j += 2) {
            const u = codec.unit(bytes, j);
            if (u === LF || u === CR) {
              br = j;
              break;
            }
          }
        }
        if (br < 0) break;
        if (pending) {
          pending.add(bytes.subarray(i, br));
          yield await pending.finish(file, lineNo++, true);
          pending = null;
        } else yield decodeLine(codec, bytes.subarray(i, br), lineNo++, lineStart);
        let next = br + w;
        if (codec.unit(bytes, br) === CR) {
          if (next + w <= bytes.byteLength) {
            if (codec.unit(bytes, next) === LF) next += w;
          } else afterCr = true;
        }
        lineStart = base + next;
        i = next;
      }
      if (i < bytes.byteLength) {
        pending ??= new PendingLine(codec, lineStart);
        pending.add(bytes.subarray(i));
      }
      onBytes?.(read);
    }
    if (odd !== null) {
      pending ??= new PendingLine(codec, lineStart);
      pending.add(Uint8Array.of(odd));
    }
    if (pending) yield await pending.finish(file, lineNo, false);
    done = true;
  } finally {
    // A reader stopped early (the caller broke out of the loop) releases the file.
    if (!done) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/** A line with bad bytes in a whole decoded text: `start`/`end` are its UTF-16 indices in `text`. */
export interface BadLine {
  line: number;
  start: number;
  end: number;
  bad: BadBytes;
}

export interface DecodedText {
  /** The text with every line end as '\n'. */
  text: string;
  encoding: TextEncodingName;
  /** Lines with bad bytes, in order (their text holds U+FFFD where bytes were bad). */
  bad: BadLine[];
}

/** Decodes a whole file through readLines: line ends become '\n'; bad lines are listed, not fatal. */
export async function readText(file: ImportFile, onBytes?: (bytesRead: number) => void): Promise<DecodedText> {
  const { encoding } = await sniffFile(file);
  const lines: string[] = [];
  const bad: BadLine[] = [];
  let at = 0;
  let eol = false;
  for await (const l of readLines(file, onBytes)) {
    if (l.bad) bad.push({ line: l.line, start: at, end: at + l.text.length, bad: l.bad });
    lines.push(l.text);
    at += l.text.length + 1;
    eol = l.eol;
  }
  if (eol) lines.push('');
  return { text: lines.join('\n'), encoding, bad };
}

/** Line number (1-based) of a UTF-16 index in `text`, using a precomputed table of line starts. */
export class LineIndex {
  private readonly starts: number[] = [0];
  constructor(text: string) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }
  lineAt(index: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }
}

/** The first bad line that overlaps [start, end) of a decoded text. */
export class BadLineCursor {
  private i = 0;
  constructor(private readonly bad: BadLine[]) {}
  /** Spans must be asked in increasing order of `start`. */
  overlap(start: number, end: number): BadLine | null {
    while (this.i < this.bad.length && this.bad[this.i]!.end <= start) this.i++;
    const b = this.bad[this.i];
    return b && b.start < end ? b : null;
  }
}
