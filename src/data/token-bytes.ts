/**
 * Token → bytes and token byte offsets in a text. @huggingface/tokenizers returns ids and token
 * strings but no offsets, so they are rebuilt here: every token's bytes are known from the vocab
 * (byte-level BPE: the GPT-2 byte↔unicode table; SentencePiece-style BPE: '▁' is a space and
 * `<0xNN>` a byte; added tokens: their text), and the token bytes are aligned with the text's UTF-8.
 */

const utf8 = new TextEncoder();

/** GPT-2's byte → printable character table, inverted (character → byte). */
function unicodeToBytes(): Map<string, number> {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  const map = new Map<string, number>();
  bs.forEach((b, i) => map.set(String.fromCharCode(cs[i]!), b));
  return map;
}

let byteLevelTable: Map<string, number> | null = null;

type JsonNode = { type?: unknown; [k: string]: unknown } | null | undefined;

/** True when `node` (a normalizer / pre-tokenizer / decoder config) is or contains `type`. */
export function configHasType(node: unknown, type: string): boolean {
  if (Array.isArray(node)) return node.some((n) => configHasType(n, type));
  if (typeof node !== 'object' || node === null) return false;
  const obj = node as NonNullable<JsonNode>;
  if (obj.type === type) return true;
  return ['pretokenizers', 'decoders', 'normalizers', 'processors'].some((k) => configHasType(obj[k], type));
}

function findReplacement(node: unknown): string | null {
  if (Array.isArray(node)) {
    for (const n of node) {
      const r = findReplacement(n);
      if (r) return r;
    }
    return null;
  }
  if (typeof node !== 'object' || node === null) return null;
  const obj = node as Record<string, unknown>;
  if (obj.type === 'Metaspace' && typeof obj.replacement === 'string') return obj.replacement;
  for (const k of ['pretokenizers', 'decoders']) {
    const r = findReplacement(obj[k]);
    if (r) return r;
  }
  return null;
}

export type TokenByteStyle = 'byte-level' | 'sentencepiece';

export interface TokenizerJsonLike {
  normalizer?: unknown;
  pre_tokenizer?: unknown;
  decoder?: unknown;
  model?: { byte_fallback?: unknown };
}

export class TokenByteMap {
  readonly style: TokenByteStyle;
  private readonly cache = new Map<number, Uint8Array>();
  private readonly metaspace: string;
  private readonly byteFallback: boolean;

  constructor(
    json: TokenizerJsonLike,
    private readonly idToToken: (id: number) => string | undefined,
    private readonly addedContent: Map<number, string>,
  ) {
    const byteLevel = configHasType(json.pre_tokenizer, 'ByteLevel') || configHasType(json.decoder, 'ByteLevel');
    this.style = byteLevel ? 'byte-level' : 'sentencepiece';
    this.metaspace = findReplacement(json.pre_tokenizer) ?? findReplacement(json.decoder) ?? '\u2581';
    this.byteFallback = json.model?.byte_fallback === true;
  }

  bytes(id: number): Uint8Array {
    const hit = this.cache.get(id);
    if (hit) return hit;
    const out = this.compute(id);
    this.cache.set(id, out);
    return out;
  }

  private compute(id: number): Uint8Array {
    const added = this.addedContent.get(id);
    if (added !== undefined) return utf8.encode(added);
    const token = this.idToToken(id);
    if (token === undefined) return new Uint8Array(0);
    if (this.style === 'byte-level') {
      byteLevelTable ??= unicodeToBytes();
      const out = new Uint8Array(token.length);
      let n = 0;
      for (const ch of token) {
        const b = byteLevelTable.get(ch);
        if (b === undefined) return utf8.encode(token);
        out[n++] = b;
      }
      return out.subarray(0, n);
    }
    const byte = /^<0x([0-9A-Fa-f]{2})>$/.exec(token);
    if (byte && this.byteFallback) return Uint8Array.of(parseInt(byte[1]!, 16));
    return utf8.encode(token.replaceAll(this.metaspace, ' '));
  }
}

function isSpaceByte(b: number | undefined): boolean {
  return b === 0x20 || b === 0x0a || b === 0x09 || b === 0x0d;
}

/**
 * Aligns token bytes with the UTF-8 bytes of `text`; returns each token's [start, end) byte range
 * in the text, or null when they do not line up (a normalizer that rewrites text, unknown tokens).
 * Tolerated: spaces a tokenizer inserts (SentencePiece prefix '▁') and whitespace that added
 * tokens with lstrip/rstrip swallow.
 */
export function alignTokenBytes(
  tokens: Uint8Array[],
  textBytes: Uint8Array,
): { starts: Int32Array; ends: Int32Array } | null {
  const starts = new Int32Array(tokens.length);
  const ends = new Int32Array(tokens.length);
  let p = 0;
  for (let t = 0; t < tokens.length; t++) {
    const tb = tokens[t]!;
    if (tb.length > 0 && textBytes[p] !== tb[0]) {
      while (p < textBytes.length && isSpaceByte(textBytes[p]) && textBytes[p] !== tb[0]) p++;
    }
    starts[t] = p;
    for (let k = 0; k < tb.length; k++) {
      if (textBytes[p] === tb[k]) p++;
      else if (tb[k] === 0x20)
        continue; // inserted by the tokenizer, not in the text
      else return null;
    }
    ends[t] = p;
  }
  for (; p < textBytes.length; p++) if (!isSpaceByte(textBytes[p])) return null;
  return { starts, ends };
}

/** UTF-8 byte offset of every UTF-16 index in `indices` (sorted or not) within `text`. */
export function utf8Offsets(text: string, indices: number[]): Map<number, number> {
  const wanted = [...new Set(indices)].sort((a, b) => a - b);
  const out = new Map<number, number>();
  let bytes = 0;
  let i = 0;
  for (const target of wanted) {
    while (i < target && i < text.length) {
      const c = text.codePointAt(i)!;
      const units = c > 0xffff ? 2 : 1;
      bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
      i += units;
    }
    out.set(target, bytes);
  }
  return out;
}
