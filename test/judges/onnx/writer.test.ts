/**
 * The ONNX writer, checked by onnxruntime-node: a small graph whose weights are streamed as concatenated
 * ModelProto pieces (inline) or into external data files (split into chunks) computes the same as the math.
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeFolderSink } from '../../../src/cli/commands/export.ts';
import { GraphBuilder } from '../../../src/formats/onnx/graph.ts';
import { writeOnnxModel } from '../../../src/formats/onnx/writer.ts';
import { seededRng } from '../../harness/rng.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'onnx-writer-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** y = (x · W1) · W2 + b, with W1 [4, 8], W2 [8, 3] as lazy initializers and b as a constant. */
function graph(): GraphBuilder {
  const g = new GraphBuilder('test');
  const x = g.input('x', 'float32', ['batch', 4]);
  const w1 = g.initializer('w1', 'float32', [4, 8]);
  const w2 = g.initializer('w2', 'float32', [8, 3]);
  const b = g.f32('b', [0.5, -1, 2]);
  const y = g.node('Add', [g.node('MatMul', [g.node('MatMul', [x, w1]), w2]), b]);
  g.output(y, 'y', 'float32', ['batch', 3]);
  return g;
}

function matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) for (let t = 0; t < k; t++) out[i * n + j]! += a[i * k + t]! * b[t * n + j]!;
  return out;
}

describe('ONNX writer', () => {
  for (const mode of ['never', 'always'] as const) {
    it(`${mode === 'never' ? 'inline (one piece per tensor)' : 'external data in chunks'}: onnxruntime computes the graph`, async () => {
      const rng = seededRng(`onnx writer ${mode}`);
      const W1 = rng.f32(32, -1, 1);
      const W2 = rng.f32(24, -1, 1);
      const dir = join(root, mode);
      const asked: string[] = [];
      const result = await writeOnnxModel(
        nodeFolderSink(dir),
        graph(),
        async (t) => {
          asked.push(t.name);
          const v = t.name === 'w1' ? W1 : W2;
          return new Uint8Array(v.buffer.slice(0));
        },
        { file: 'onnx/model.onnx', opsets: [{ domain: '', version: 17 }], external: mode, chunkBytes: 100 },
      );
      expect(asked).toEqual(['w1', 'w2']);
      const listing = (await readdir(join(dir, 'onnx'))).sort();
      if (mode === 'always') {
        // 128 bytes of w1 alone exceed a 100-byte chunk: each tensor gets its own data file.
        expect(result.dataFiles).toEqual(['model.onnx_data', 'model.onnx_data_1']);
        expect(listing).toEqual(['model.onnx', 'model.onnx_data', 'model.onnx_data_1']);
        expect((await stat(join(dir, 'onnx', 'model.onnx'))).size).toBeLessThan(1000);
      } else {
        expect(result.dataFiles).toEqual([]);
        expect(listing).toEqual(['model.onnx']);
      }
      const session = await ort.InferenceSession.create(join(dir, 'onnx', 'model.onnx'));
      const x = rng.f32(8, -1, 1);
      const out = await session.run({ x: new ort.Tensor('float32', x, [2, 4]) });
      const y = out.y!.data as Float32Array;
      const ref = matmul(Float32Array.from(matmul(x, W1, 2, 4, 8)), W2, 2, 8, 3).map(
        (v, i) => v + [0.5, -1, 2][i % 3]!,
      );
      expect(out.y!.dims).toEqual([2, 3]);
      for (let i = 0; i < 6; i++) expect(Math.abs(y[i]! - ref[i]!)).toBeLessThan(1e-5);
      await session.release();
    });
  }
});
