import { describe, expect, it } from 'vitest';
import { type Conversion, isLossless, loadNotes } from '../../../src/model/load-notes.ts';

describe('load report precision notes', () => {
  it('says which types stayed as stored and groups each conversion, saying when it loses precision', () => {
    expect(isLossless('q6_k', 'q6_k')).toBe(true);
    expect(isLossless('q4_k', 'f32')).toBe(true);
    expect(isLossless('q6_k', 'q8_0')).toBe(false);
    expect(isLossless('bf16', 'f16')).toBe(false);
    const conv = (tensor: string, c: Omit<Conversion, 'tensor'>): Conversion => ({ tensor, ...c });
    const notes = loadNotes({ q4_k: 6, q6_k: 0 }, [
      conv('a', { stored: 'q4_k', got: 'nf4', reason: 'quant', lossy: true }),
      conv('b', { stored: 'q4_k', got: 'nf4', reason: 'quant', lossy: true }),
      conv('embed', { stored: 'q6_k', got: 'q8_0', reason: 'embeddings', lossy: true }),
      conv('down', { stored: 'f16', got: 'f32', reason: 'row length', lossy: false }),
    ]);
    expect(notes).toEqual([
      'kept as stored (no conversion): q4_k × 6',
      'converted, loses precision: 2 tensors q4_k → nf4 (the quant option)',
      'converted, loses precision: 1 tensor q6_k → q8_0 (the embedding format)',
      'converted exactly: 1 tensor f16 → f32 (rows not whole blocks)',
    ]);
    expect(loadNotes({}, [])).toEqual([]);
  });
});
