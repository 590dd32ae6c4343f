/**
 * The exported ONNX decoder run by onnxruntime-node (CPU) against the float64 reference model, for every supported
 * architecture's tiny model with a LoRA adapter on every projection:
 *   f32 logits = reference (merged adapter, and kept as separate MatMul branches);
 *   step-by-step decoding with past_key_values fed back = the full pass (sequences longer than the sliding windows);
 *   f16 and q4 within their stated bounds of the f32 model, and q4's argmax over the prompt the same.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeFolderSink } from '../../../src/cli/commands/export.ts';
import { parseModelConfig } from '../../../src/model/config.ts';
import { NodeFolderModelSource } from '../../../src/model/source-node.ts';
import { exportOnnxModel, ONNX_FILE, type OnnxVariant } from '../../../src/train/onnx/export-onnx.ts';
import { compareClose, expectClose } from '../../harness/allclose.ts';
import { seededRng } from '../../harness/rng.ts';
import { TOLERANCES } from '../../harness/tolerances.ts';
import { makeTinyModel, type TinyModel } from '../../fixtures/make-models.ts';
import {
  argmaxRows,
  cacheFrom,
  emptyCache,
  makeTinyGemma,
  refLoraOf,
  refWeightsOf,
  runStep,
} from '../../fixtures/onnx-run.ts';
import { randomAdapter } from '../../fixtures/random-adapter.ts';
import { Tape } from '../../reference/model/tape.ts';
import { refForward } from '../../reference/model/transformer.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'onnx-ref-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const CASES = [
  ['llama', 'default'],
  ['llama', 'rope-llama3'],
  ['llama', 'tied'],
  ['mistral', 'default'],
  ['qwen2', 'default'],
  ['qwen3', 'default'],
  ['gemma', 'default'],
  ['gemma2', 'default'],
  ['phi3', 'default'],
] as const;

/** Longer than the fixtures' sliding windows (mistral 16, gemma2 8). */
const T = 20;

async function model(
  arch: (typeof CASES)[number][0],
  variant: (typeof CASES)[number][1],
  dir: string,
): Promise<TinyModel> {
  return arch === 'gemma' ? makeTinyGemma(dir) : makeTinyModel(arch, dir, { variant });
}

describe('ONNX export vs the float64 reference (onnxruntime-node)', () => {
  for (const [arch, variant] of CASES) {
    const name = `${arch}${variant === 'default' ? '' : ` ${variant}`}`;
    it(name, async () => {
      const rng = seededRng(`onnx reference ${name}`);
      const m = await model(arch, variant, join(root, `src-${arch}-${variant}`));
      const d = parseModelConfig(m.config);
      const e = randomAdapter(d, rng, { rank: 4, alpha: 8, range: 0.3 });
      const ids = Array.from({ length: T }, () => rng.int(0, d.vocab));
      const ref = refForward(new Tape(), d, await refWeightsOf(m.dir), ids, { lora: refLoraOf(e, d) }).data;

      const source = await NodeFolderModelSource.open(m.dir);
      const variants: OnnxVariant[] = ['f32', 'f16', 'q4'];
      const merged = join(root, `onnx-${arch}-${variant}`);
      await exportOnnxModel(source, e, nodeFolderSink(merged), { variants });
      const separate = join(root, `onnx-sep-${arch}-${variant}`);
      await exportOnnxModel(source, e, nodeFolderSink(separate), { adapterMode: 'separate' });

      const open = (dir: string, v: OnnxVariant) => ort.InferenceSession.create(join(dir, 'onnx', ONNX_FILE[v]));
      const f32 = await open(merged, 'f32');
      const full = await runStep(f32, ids, 0, emptyCache(d, 1));
      const r = compareClose(full.logits, ref, TOLERANCES.onnx_vs_reference_f32);
      console.log(
        `[bound] onnx f32 ${name}: max abs ${r.maxAbs.toExponential(2)}, norm-wise ${r.normRel.toExponential(2)}`,
      );
      expectClose(`${name} onnx f32 (merged) vs reference`, full.logits, ref, TOLERANCES.onnx_vs_reference_f32);

      const sep = await open(separate, 'f32');
      const sepOut = await runStep(sep, ids, 0, emptyCache(d, 1));
      expectClose(
        `${name} onnx f32 (separate adapter) vs reference`,
        sepOut.logits,
        ref,
        TOLERANCES.onnx_vs_reference_f32,
      );

      // Prefill 5 tokens, then one token at a time with the cache fed back.
      const V = d.vocab;
      let step = await runStep(f32, ids.slice(0, 5), 0, emptyCache(d, 1));
      const stepped = Array.from(step.logits);
      for (let t = 5; t < T; t++) {
        step = await runStep(f32, [ids[t]!], t, cacheFrom(step.outputs));
        stepped.push(...step.logits);
      }
      expect(step.outputs['present.0.key']!.dims).toEqual([1, d.kvHeads, T, d.headDim]);
      const rs = compareClose(stepped, full.logits, TOLERANCES.onnx_kv_steps);
      console.log(
        `[bound] onnx steps ${name}: max abs ${rs.maxAbs.toExponential(2)}, norm-wise ${rs.normRel.toExponential(2)}`,
      );
      expectClose(`${name} step-by-step vs full pass`, stepped, full.logits, TOLERANCES.onnx_kv_steps);
      // num_logits_to_keep = 1: only the last position.
      const last = await runStep(f32, ids, 0, emptyCache(d, 1), { keep: 1 });
      expectClose(`${name} last position`, last.logits, full.logits.subarray((T - 1) * V), TOLERANCES.onnx_kv_steps);

      const f16 = await runStep(await open(merged, 'f16'), ids, 0, emptyCache(d, 1, 'float16'));
      const r16 = compareClose(f16.logits, full.logits, TOLERANCES.onnx_f16_vs_f32);
      console.log(
        `[bound] onnx f16 ${name}: max abs ${r16.maxAbs.toExponential(2)}, norm-wise ${r16.normRel.toExponential(2)}`,
      );
      expectClose(`${name} f16 vs f32`, f16.logits, full.logits, TOLERANCES.onnx_f16_vs_f32);

      const q4 = await runStep(await open(merged, 'q4'), ids, 0, emptyCache(d, 1));
      const rq = compareClose(q4.logits, full.logits, TOLERANCES.onnx_q4_vs_f32);
      const want = argmaxRows(full.logits, V);
      const agree = argmaxRows(q4.logits, V).filter((a, i) => a === want[i]).length;
      console.log(
        `[bound] onnx q4 ${name}: max abs ${rq.maxAbs.toExponential(2)}, norm-wise ${rq.normRel.toExponential(2)}, argmax ${agree}/${T}`,
      );
      expectClose(`${name} q4 vs f32`, q4.logits, full.logits, TOLERANCES.onnx_q4_vs_f32);
    });
  }
});
