/** Helpers shared by the fuzz targets: copying seed folders, the logits command and its output check. */
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FuzzCase } from '../target.ts';

/** Copies a seed folder (or only the files `keep` accepts) to `dir/name`. */
export async function copySeed(
  from: string,
  dir: string,
  name: string,
  keep?: (file: string) => boolean,
): Promise<string> {
  const to = join(dir, name);
  await cp(from, to, { recursive: true, filter: (src) => src === from || !keep || keep(src.slice(from.length + 1)) });
  return to;
}

/** The tokens the logits command runs (inside every fixture vocabulary). */
export const TOKENS = '1,5,9,40';

/** `logits --model MODEL [--adapter A] --tokens … --out dir/logits.json`, with a check for non-finite logits. */
export function logitsCase(dir: string, model: string, files: string[], note: string, adapter?: string): FuzzCase {
  const out = join(dir, 'logits.json');
  return {
    argv: ['logits', '--model', model, ...(adapter ? ['--adapter', adapter] : []), '--tokens', TOKENS, '--out', out],
    files,
    note,
    checkOutput: async () => {
      const text = await readFile(out, 'utf8').catch(() => null);
      if (text === null) return 'exit 0 but no logits file was written';
      const parsed = JSON.parse(text) as { logits: (number | null)[][] };
      for (const [t, row] of parsed.logits.entries()) {
        const i = row.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
        if (i >= 0) return `logit [${t}, ${i}] is ${String(row[i])} (non-finite) with exit 0`;
      }
      return null;
    },
  };
}

/** safetensors bytes split into the 8-byte length, the JSON header and the data. */
export function splitSafetensors(bytes: Uint8Array): { header: string; data: Uint8Array } | null {
  if (bytes.byteLength < 8) return null;
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (8 + n > bytes.byteLength) return null;
  return { header: new TextDecoder().decode(bytes.subarray(8, 8 + n)), data: bytes.subarray(8 + n) };
}

/** A safetensors file from a JSON header text and data bytes (the length prefix made to match). */
export function joinSafetensors(header: string, data: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.byteLength), true);
  out.set(h, 8);
  out.set(data, 8 + h.byteLength);
  return out;
}
