/**
 * What a load did to each matrix's precision, in words for the CLI and the UI: which tensors stayed in their stored
 * type on the GPU, and every conversion that loses precision (a K-quant re-quantized to nf4 because quant nf4 was
 * asked for, a Q6_K embedding table made q8_0, a bf16 tensor made f16), with the reason. Pure, browser-safe.
 */
import type { WeightFormat } from '../kernels/weights.ts';
import type { StoredType } from './checkpoint.ts';

export type ConversionReason = 'quant' | 'embeddings' | 'row length';

/** One matrix whose GPU format is not its stored type. */
export interface Conversion {
  tensor: string;
  stored: StoredType;
  got: WeightFormat;
  /** quant / embeddings: the load options asked for the format; row length: the wanted block did not fit a row. */
  reason: ConversionReason;
  /** False when every value reaches the GPU exactly (e.g. anything widened to f32). */
  lossy: boolean;
}

/** Whether values stored as `stored` all survive as `got` exactly. */
export function isLossless(stored: StoredType, got: WeightFormat): boolean {
  return got === stored || got === 'f32';
}

const REASON: Record<ConversionReason, string> = {
  quant: 'the quant option',
  embeddings: 'the embedding format',
  'row length': 'rows not whole blocks',
};

/** Report lines: the types kept as stored, then each group of conversions (lossy ones say so). */
export function loadNotes(kept: Readonly<Record<string, number>>, conversions: readonly Conversion[]): string[] {
  const lines: string[] = [];
  const keptTypes = Object.entries(kept).filter(([, n]) => n > 0);
  if (keptTypes.length > 0)
    lines.push(`kept as stored (no conversion): ${keptTypes.map(([f, n]) => `${f} × ${n}`).join(', ')}`);
  const groups = new Map<string, { c: Conversion; n: number }>();
  for (const c of conversions) {
    const key = `${c.stored}→${c.got}:${c.reason}`;
    const g = groups.get(key);
    if (g) g.n++;
    else groups.set(key, { c, n: 1 });
  }
  for (const { c, n } of groups.values()) {
    const what = `${n} tensor${n === 1 ? '' : 's'} ${c.stored} → ${c.got} (${REASON[c.reason]})`;
    lines.push(c.lossy ? `converted, loses precision: ${what}` : `converted exactly: ${what}`);
  }
  return lines;
}
