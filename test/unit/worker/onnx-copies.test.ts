/**
 * The export's sink with the Try page's copy beside it (src/worker/onnx-copies.ts): both get every byte; a copy that
 * cannot be written (the browser's storage is full) is given up, saying why, while the export itself completes; a
 * failing export still fails.
 */
import { describe, expect, it } from 'vitest';
import type { FileSink } from '../../../src/train/merge.ts';
import { teeSink } from '../../../src/worker/onnx-copies.ts';
import { memorySink } from '../../fixtures/memory-sink.ts';

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);

/** A sink whose files fail on the `failAt`-th write (counting across files), as a full disk does. */
function failingSink(inner: FileSink, failAt: number): FileSink {
  let writes = 0;
  return {
    async open(name) {
      const f = await inner.open(name);
      return {
        ...f,
        async write(chunk) {
          if (++writes === failAt) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
          await f.write(chunk);
        },
      };
    },
  };
}

async function writeAll(sink: FileSink, files: [string, Uint8Array[]][]): Promise<void> {
  for (const [name, chunks] of files) {
    const f = await sink.open(name);
    for (const c of chunks) await f.write(c);
    await f.close();
  }
}

const FILES: [string, Uint8Array[]][] = [
  ['onnx/model.onnx', [bytes(100, 1), bytes(50, 2)]],
  ['tokenizer.json', [bytes(20, 3)]],
  ['config.json', [bytes(10, 4)]],
];

describe('the ONNX copy beside an export', () => {
  it('writes every file into both', async () => {
    const target = memorySink();
    const copy = memorySink();
    const tee = teeSink(target, copy);
    await writeAll(tee.sink, FILES);
    expect(tee.failure()).toBeNull();
    for (const [name, chunks] of FILES) {
      const whole = Uint8Array.from(chunks.flatMap((c) => [...c]));
      expect(target.files.get(name)).toEqual(whole);
      expect(copy.files.get(name)).toEqual(whole);
    }
  });

  it('gives the copy up when it cannot be written, and the export completes', async () => {
    const target = memorySink();
    const copy = memorySink();
    const tee = teeSink(target, failingSink(copy, 2));
    await writeAll(tee.sink, FILES);
    expect(tee.failure()).toMatch(/quota/);
    expect(copy.aborted).toEqual(['onnx/model.onnx']);
    expect(copy.openNow.size).toBe(0);
    expect([...copy.files.keys()]).toEqual([]);
    expect([...target.files.keys()].sort()).toEqual(FILES.map(([n]) => n).sort());
    expect(target.files.get('onnx/model.onnx')!.byteLength).toBe(150);
  });

  it('fails when the export itself cannot be written', async () => {
    const tee = teeSink(failingSink(memorySink(), 3), memorySink());
    await expect(writeAll(tee.sink, FILES)).rejects.toThrow(/quota/);
  });
});
