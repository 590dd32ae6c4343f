/**
 * Bytes → text: BOM and UTF-16 detection, binary detection, CRLF handling, and a streaming line
 * reader that never holds a large file twice (it decodes chunk by chunk and yields lines).
 */
import type { ImportFile } from './inputs.ts';

export type TextEncodingName = 'utf-8' | 'utf-8-bom' | 'utf-16le' | 'utf-16be';

export type Sniffed =
  | { ok: true; encoding: TextEncodingName; bomLength: number }
  | { ok: false; code: 'binary_file' | 'encoding'; reason: string };

const SNIFF_BYTES = 4096;

/** Decides how to decode a file from its first bytes. */
export function sniffEncoding(head: Uint8Array): Sniffed {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf)
    return { ok: true, encoding: 'utf-8-bom', bomLength: 3 };
  if (head[0] === 0xff && head[1] === 0xfe) return { ok: true, encoding: 'utf-16le', bomLength: 2 };
  if (head[0] === 0xfe && head[1] === 0xff) return { ok: true, encoding: 'utf-16be', bomLength: 2 };
  const n = Math.min(head.length, SNIFF_BYTES);
  let zeroEven = 0;
  let zeroOdd = 0;
  let control = 0;
  for (let i = 0; i < n; i++) {
    const b = head[i]!;
    if (b === 0) {
      if (i % 2 === 0) zeroEven++;
      else zeroOdd++;
    } else if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c) {
      control++;
    }
  }
  const half = n / 2;
  // UTF-16 without a BOM: ASCII-range text has a zero in every other byte.
  if (n >= 4 && zeroOdd > half * 0.4 && zeroEven < half * 0.05) return { ok: true, encoding: 'utf-16le', bomLength: 0 };
  if (n >= 4 && zeroEven > half * 0.4 && zeroOdd < half * 0.05) return { ok: true, encoding: 'utf-16be', bomLength: 0 };
  if (zeroEven + zeroOdd > 0 || control > n * 0.1) {
    return { ok: false, code: 'binary_file', reason: 'binary file (not text): contains NUL or control bytes' };
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, n), { stream: true });
  } catch {
    // A few bad lines are reported one by one later; a file that is mostly not UTF-8 is refused.
    const lines = splitBytes(head.subarray(0, n), 0x0a).slice(0, -1);
    const bad = lines.filter((l) => !isUtf8(l)).length;
    if (lines.length === 0 || bad * 2 >= lines.length) {
      return {
        ok: false,
        code: 'encoding',
        reason: 'not UTF-8 text (perhaps Latin-1 or Windows-1252): save it as UTF-8 or UTF-16',
      };
    }
  }
  return { ok: true, encoding: 'utf-8', bomLength: 0 };
}

function splitBytes(bytes: Uint8Array, sep: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  for (let i = bytes.indexOf(sep); i >= 0; i = bytes.indexOf(sep, start)) {
    out.push(bytes.subarray(start, i));
    start = i + 1;
  }
  out.push(bytes.subarray(start));
  return out;
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function isUtf8(bytes: Uint8Array): boolean {
  try {
    fatalUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function decoderFor(encoding: TextEncodingName): TextDecoder {
  const label = encoding === 'utf-8-bom' ? 'utf-8' : encoding;
  // ignoreBOM: the BOM is skipped by us (bomLength), so a second one would be kept as text.
  return new TextDecoder(label, { fatal: true, ignoreBOM: true });
}

export class DecodeError extends Error {
  constructor(
    readonly code: 'binary_file' | 'encoding' | 'empty_file',
    message: string,
    /** 1-based line where decoding failed, when known. */
    readonly line: number | null = null,
  ) {
    super(message);
    this.name = 'DecodeError';
  }
}

export interface LineProgress {
  (bytesRead: number): void;
}

export interface Line {
  line: number;
  text: string;
  /** True when the line is not valid UTF-8 (`text` then holds U+FFFD where bytes were bad). */
  invalid?: boolean;
}

/** Reads the first bytes of a stream without consuming more than needed. */
async function readHead(file: ImportFile): Promise<Uint8Array> {
  return file.slice(0, Math.min(file.size, SNIFF_BYTES));
}

/** Sniffs a file; throws DecodeError for empty, binary or undecodable files. */
export async function sniffFile(file: ImportFile): Promise<Sniffed & { ok: true }> {
  if (file.size === 0) throw new DecodeError('empty_file', 'empty file (0 bytes)');
  const sniffed = sniffEncoding(await readHead(file));
  if (!sniffed.ok) throw new DecodeError(sniffed.code, sniffed.reason);
  return sniffed;
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

interface LineCodec {
  /** Bytes per code unit: 1 for UTF-8, 2 for UTF-16. */
  width: number;
  isNewline(b: Uint8Array, i: number): boolean;
  isCr(b: Uint8Array, i: number): boolean;
  fatal: TextDecoder;
  lossy: TextDecoder;
}

function codecFor(encoding: TextEncodingName): LineCodec {
  const label = encoding === 'utf-8-bom' ? 'utf-8' : encoding;
  const base = { fatal: decoderFor(encoding), lossy: new TextDecoder(label, { ignoreBOM: true }) };
  if (encoding === 'utf-16le') {
    return {
      ...base,
      width: 2,
      isNewline: (b, i) => b[i] === 0x0a && b[i + 1] === 0,
      isCr: (b, i) => b[i] === 0x0d && b[i + 1] === 0,
    };
  }
  if (encoding === 'utf-16be') {
    return {
      ...base,
      width: 2,
      isNewline: (b, i) => b[i] === 0 && b[i + 1] === 0x0a,
      isCr: (b, i) => b[i] === 0 && b[i + 1] === 0x0d,
    };
  }
  return { ...base, width: 1, isNewline: (b, i) => b[i] === 0x0a, isCr: (b, i) => b[i] === 0x0d };
}

function decodeLine(codec: LineCodec, bytes: Uint8Array, line: number): Line {
  const w = codec.width;
  const end =
    bytes.byteLength >= w && codec.isCr(bytes, bytes.byteLength - w) ? bytes.byteLength - w : bytes.byteLength;
  const body = bytes.subarray(0, end);
  try {
    return { line, text: codec.fatal.decode(body) };
  } catch {
    return { line, text: codec.lossy.decode(body), invalid: true };
  }
}

/** Index of the next newline code unit at or after `from` (aligned to the code unit width). */
function nextNewline(codec: LineCodec, b: Uint8Array, from: number): number {
  if (codec.width === 1) return b.indexOf(0x0a, from);
  for (let i = from; i + 1 < b.byteLength; i += 2) if (codec.isNewline(b, i)) return i;
  return -1;
}

/**
 * Streams the lines of a text file (1-based line numbers, '\r' before '\n' removed) without
 * holding the file: bytes are split at newline code units and each line is decoded on its own, so
 * a line with bad bytes comes back marked `invalid` and the lines after it still come.
 */
export async function* readLines(file: ImportFile, onBytes?: LineProgress): AsyncGenerator<Line> {
  const sniffed = await sniffFile(file);
  const codec = codecFor(sniffed.encoding);
  const reader = file.stream().getReader();
  let skip = sniffed.bomLength;
  let read = 0;
  let lineNo = 1;
  let carry = new Uint8Array(0);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      read += value.byteLength;
      let bytes = value;
      if (skip > 0) {
        const cut = Math.min(skip, bytes.byteLength);
        bytes = bytes.subarray(cut);
        skip -= cut;
      }
      const buf = carry.byteLength ? concatBytes([carry, bytes]) : bytes;
      let start = 0;
      for (let nl = nextNewline(codec, buf, 0); nl >= 0; nl = nextNewline(codec, buf, start)) {
        yield decodeLine(codec, buf.subarray(start, nl), lineNo++);
        start = nl + codec.width;
      }
      carry = buf.slice(start);
      onBytes?.(read);
    }
    if (carry.byteLength > 0) yield decodeLine(codec, carry, lineNo);
  } finally {
    reader.releaseLock();
  }
}

export interface DecodedText {
  text: string;
  encoding: TextEncodingName;
}

/** Decodes a whole (small) file; CRLF becomes LF so line numbers count '\n' only. */
export async function readText(file: ImportFile): Promise<DecodedText> {
  const sniffed = await sniffFile(file);
  const bytes = await file.slice(sniffed.bomLength, file.size);
  let text: string;
  try {
    text = decoderFor(sniffed.encoding).decode(bytes);
  } catch {
    throw new DecodeError('encoding', `invalid ${sniffed.encoding} byte sequence`);
  }
  return { text: text.replaceAll('\r\n', '\n'), encoding: sniffed.encoding };
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
