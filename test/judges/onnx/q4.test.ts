/**
 * 4-bit blocks for com.microsoft MatMulNBits: onnxruntime computes x · dequant(W)ᵀ with the values dequantizeQ4 gives
 * (so the packing of codes, scales and zero points is the one onnxruntime reads), and the rounding error per weight
 * stays within half a quantization step.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { CONTRIB_DOMAIN, GraphBuilder } from '../../../src/formats/onnx/graph.ts';
import { onnx } from '../../../src/formats/onnx/onnx-pb.js';
import { dequantizeQ4, quantizeQ4 } from '../../../src/formats/onnx/q4.ts';
import { seededRng } from '../../harness/rng.ts';

describe('MatMulNBits 4-bit blocks', () => {
  for (const [N, K, block] of [
    [40, 96, 32],
    [7, 50, 16],
    [16, 256, 128],
  ] as const) {
    it(`W [${N}, ${K}], block ${block}: onnxruntime = x · dequant(W)ᵀ`, async () => {
      const rng = seededRng(`q4 ${N} ${K} ${block}`);
      const W = rng.f32(N * K, -1, 1);
      for (let i = 0; i < N * K; i += 11) W[i] = W[i]! * 4; // outliers and lopsided blocks
      const q = quantizeQ4(W, N, K, block);
      const deq = dequantizeQ4(q, N, K, block);
      const blocks = Math.ceil(K / block);
      for (let n = 0; n < N; n++)
        for (let k = 0; k < K; k++) {
          const step = q.scales[n * blocks + Math.floor(k / block)]!;
          expect(Math.abs(deq[n * K + k]! - W[n * K + k]!)).toBeLessThanOrEqual(step / 2 + 1e-6);
        }

      const g = new GraphBuilder('q4');
      const x = g.input('x', 'float32', [3, K]);
      const codes = g.constant('codes', 'uint8', [N, blocks, block / 2], q.codes);
      const scales = g.constant('scales', 'float32', [N * blocks], q.scales);
      const zeros = g.constant('zeros', 'uint8', [q.zeros.length], q.zeros);
      const y = g.node(
        'MatMulNBits',
        [x, codes, scales, zeros],
        { K, N, bits: 4, block_size: block },
        { domain: CONTRIB_DOMAIN },
      );
      g.output(y, 'y', 'float32', [3, N]);
      const bytes = onnx.ModelProto.encode({
        ir_version: 8,
        opset_import: [
          { domain: '', version: 17 },
          { domain: CONTRIB_DOMAIN, version: 1 },
        ],
        graph: { name: 'q4', node: g.nodes, input: g.inputs, output: g.outputs, initializer: g.constants },
      }).finish();
      const session = await ort.InferenceSession.create(bytes);
      const xs = rng.f32(3 * K, -1, 1);
      const out = (await session.run({ x: new ort.Tensor('float32', xs, [3, K]) })).y!.data as Float32Array;
      for (let r = 0; r < 3; r++)
        for (let n = 0; n < N; n++) {
          let want = 0;
          for (let k = 0; k < K; k++) want += xs[r * K + k]! * deq[n * K + k]!;
          expect(Math.abs(out[r * N + n]! - want)).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(want)));
        }
    });
  }
});
