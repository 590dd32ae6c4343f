/**
 * What a file's first bytes say about it: its text encoding (UTF-8, with or without a BOM, or
 * UTF-16 LE/BE) or that it is not text at all (a known binary signature, or many control bytes).
 * A text file with a few bad bytes is text: those lines are reported one by one by the reader.
 */

export type TextEncodingName = 'utf-8' | 'utf-8-bom' | 'utf-16le' | 'utf-16be';

export type Sniffed =
  { ok: true; encoding: TextEncodingName; bomLength: number } | { ok: false; code: 'binary_file'; reason: string };

/** How many bytes of a file are sniffed. */
export const SNIFF_BYTES = 4096;

/** File signatures of formats people drop by mistake (archives, images, documents, model files). */
const SIGNATURES: { name: string; bytes: number[] }[] = [
  { name: 'a ZIP archive', bytes: [0x50, 0x4b, 0x03, 0x04] },
  { name: 'a gzip archive', bytes: [0x1f, 0x8b] },
  { name: 'a 7-Zip archive', bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c] },
  { name: 'an xz archive', bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { name: 'a zstd archive', bytes: [0x28, 0xb5, 0x2f, 0xfd] },
  { name: 'a bzip2 archive', bytes: [0x42, 0x5a, 0x68] },
  { name: 'a PNG image', bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { name: 'a JPEG image', bytes: [0xff, 0xd8, 0xff] },
  { name: 'a GIF image', bytes: [0x47, 0x49, 0x46, 0x38] },
  { name: 'a PDF document', bytes: [0x25, 0x50, 0x44, 0x46, 0x2d] },
  { name: 'a Parquet file', bytes: [0x50, 0x41, 0x52, 0x31] },
  { name: 'a GGUF model file', bytes: [0x47, 0x47, 0x55, 0x46] },
  { name: 'an executable (ELF)', bytes: [0x7f, 0x45, 0x4c, 0x46] },
  { name: 'a SQLite database', bytes: [0x53, 0x51, 0x4c, 0x69, 0x74, 0x65, 0x20, 0x66] },
  { name: 'a NumPy array', bytes: [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59] },
];

function signatureOf(head: Uint8Array): string | null {
  for (const s of SIGNATURES) {
    if (head.length >= s.bytes.length && s.bytes.every((b, i) => head[i] === b)) return s.name;
  }
  // safetensors: a little-endian u64 header length, then the JSON header.
  if (head.length >= 10 && head[8] === 0x7b && head[9] === 0x22 && head[6] === 0 && head[7] === 0)
    return 'a safetensors file';
  return null;
}

/**
 * Index of the first byte of the first invalid UTF-8 sequence (overlong forms, surrogates and
 * code points above U+10FFFF are invalid, as for TextDecoder's fatal mode), or -1. A sequence cut
 * off by the end of `bytes` counts as invalid unless `allowTruncatedTail`.
 */
export function firstInvalidUtf8(bytes: Uint8Array, from = 0, allowTruncatedTail = false): number {
  const n = bytes.length;
  let i = from;
  while (i < n) {
    const c = bytes[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= need; k++) {
      if (i + k >= n) return allowTruncatedTail ? -1 : i;
      const b = bytes[i + k]!;
      if (k === 1 ? b < lo || b > hi : (b & 0xc0) !== 0x80) return i;
    }
    i += need + 1;
  }
  return -1;
}

/** Index (in bytes) of the first lone surrogate or cut-off code unit of UTF-16 bytes, or -1. */
export function firstLoneSurrogate(units: Uint8Array, bigEndian: boolean): number {
  const n = units.length - (units.length % 2);
  const at = (i: number) => (bigEndian ? (units[i]! << 8) | units[i + 1]! : units[i]! | (units[i + 1]! << 8));
  for (let i = 0; i < n; i += 2) {
    const u = at(i);
    if (u >= 0xdc00 && u <= 0xdfff) return i;
    if (u >= 0xd800 && u <= 0xdbff) {
      if (i + 2 >= n) return i;
      const v = at(i + 2);
      if (v < 0xdc00 || v > 0xdfff) return i;
      i += 2;
    }
  }
  return n < units.length ? n : -1;
}

/** C0 control bytes that never appear in text: all but tab, LF, VT, FF, CR and ESC. */
function isControl(b: number): boolean {
  return b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0b && b !== 0x0c && b !== 0x0d && b !== 0x1b;
}

/** Share of the head's bytes that are control bytes above which a file is binary. */
const BINARY_CONTROL_SHARE = 0.3;
/** Share of bytes in invalid UTF-8 sequences that, together with control bytes, marks a file binary. */
const BINARY_INVALID_SHARE = 0.2;
/** Control bytes that, spread over at least half of the head's lines, mark a file binary. */
const BINARY_SPREAD_CONTROLS = 8;

/** Decides how to decode a file from its first bytes (up to SNIFF_BYTES). */
export function sniffEncoding(head: Uint8Array): Sniffed {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf)
    return { ok: true, encoding: 'utf-8-bom', bomLength: 3 };
  if (head[0] === 0xff && head[1] === 0xfe) return { ok: true, encoding: 'utf-16le', bomLength: 2 };
  if (head[0] === 0xfe && head[1] === 0xff) return { ok: true, encoding: 'utf-16be', bomLength: 2 };
  const signature = signatureOf(head);
  if (signature) return { ok: false, code: 'binary_file', reason: `binary file (${signature}), not text` };
  const n = Math.min(head.length, SNIFF_BYTES);
  let zeroEven = 0;
  let zeroOdd = 0;
  let control = 0;
  let lines = 1;
  let controlLines = 0;
  let lineHasControl = false;
  for (let i = 0; i < n; i++) {
    const b = head[i]!;
    if (b === 0) {
      if (i % 2 === 0) zeroEven++;
      else zeroOdd++;
    }
    if (isControl(b)) {
      control++;
      lineHasControl = true;
    } else if (b === 0x0a) {
      if (lineHasControl) controlLines++;
      lineHasControl = false;
      if (i + 1 < n) lines++;
    }
  }
  if (lineHasControl) controlLines++;
  const half = n / 2;
  // UTF-16 without a BOM: ASCII-range text has a zero in every other byte.
  if (n >= 4 && zeroOdd > half * 0.4 && zeroEven < half * 0.05) return { ok: true, encoding: 'utf-16le', bomLength: 0 };
  if (n >= 4 && zeroEven > half * 0.4 && zeroOdd < half * 0.05) return { ok: true, encoding: 'utf-16be', bomLength: 0 };
  let invalid = 0;
  for (let i = firstInvalidUtf8(head.subarray(0, n), 0, true); i >= 0;) {
    invalid++;
    i = firstInvalidUtf8(head.subarray(0, n), i + 1, true);
  }
  // Random or compressed bytes (control bytes among mostly invalid UTF-8), packed numbers (mostly control bytes),
  // or control bytes all over the lines. A text file with a NUL, a run of NULs on one line or a few Latin-1 bytes
  // is text: its bad lines are reported one by one.
  const binary =
    (control > 0 && invalid > n * BINARY_INVALID_SHARE) ||
    control > n * BINARY_CONTROL_SHARE ||
    (control >= BINARY_SPREAD_CONTROLS && lines >= 2 && controlLines * 2 >= lines);
  if (binary) return { ok: false, code: 'binary_file', reason: 'binary file (not text): it is full of control bytes' };
  return { ok: true, encoding: 'utf-8', bomLength: 0 };
}
