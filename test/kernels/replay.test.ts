/**
 * The recorder's host side (src/gpu/recorder.ts, src/gpu/replay.ts): dependent dispatches sharing one compute pass,
 * a replayed command list that creates no buffer and no bind group yet sees its new params, a changed binding that
 * gets a new bind group; and a steady training step's WebGPU calls (no buffer, no bind group, one submit per
 * micro-batch, one readback) and forward-only evaluation, whose loss is the training path's.
 */
import { describe, expect, it } from 'vitest';
import { fill, residualForwardInplace, scale } from '../../src/kernels/elementwise.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { createLora, peftInit } from '../../src/model/lora-state.ts';
import { ModelEngine } from '../../src/model/model.ts';
import { trainConfig } from '../../src/schema/train.ts';
import { microBatch } from '../../src/train/batches.ts';
import { LoraTrainer } from '../../src/train/trainer.ts';
import { countCalls } from '../../bench/call-counts.ts';
import { expectClose } from '../harness/allclose.ts';
import { testRuntime } from '../harness/device.ts';
import { uploadRefWeights } from '../harness/model-weights.ts';
import { poisonedF32 } from '../harness/poison.ts';
import { seededRng } from '../harness/rng.ts';
import { TOLERANCES } from '../harness/tolerances.ts';
import { randomWeights } from '../reference/model/random.ts';
import { TINY_CONFIGS } from '../reference/model/tiny-configs.ts';

const counterOf = async () => {
  const rt = await testRuntime();
  counter ??= countCalls(rt.device);
  return { rt, counter };
};
let counter: ReturnType<typeof countCalls> | undefined;

describe('recorder', () => {
  it('runs dependent dispatches in one compute pass, in order', async () => {
    const { rt, counter } = await counterOf();
    const rng = seededRng('recorder one pass');
    const n = 1001; // ragged: not a multiple of the workgroup size
    const b = rng.f32(n);
    const y = poisonedF32(rt, 'y', n);
    const bb = rt.uploadF32('test', 'b', b);
    const rec = rt.recorder('one pass');
    await fill(rt, rec, { y, count: n, value: 1.5 });
    await scale(rt, rec, { y, count: n, value: 3 });
    await residualForwardInplace(rt, rec, { a: y, b: bb, count: n });
    await scale(rt, rec, { y, count: n, value: -0.25 });
    counter.reset();
    await rec.submit();
    expect(counter.counts).toMatchObject({ passes: 1, dispatches: 4, submits: 1 });
    const want = Float64Array.from(b, (v) => (1.5 * 3 + v) * -0.25);
    expectClose('chained y', await rt.readF32(y, n), want, TOLERANCES.elementwise_f32);
    rt.memory.destroyOwner('test');
    rt.memory.destroyOwner('test-output');
  });

  it('replays under a key: no buffer, no bind group, new params uploaded; a new binding gets a new bind group', async () => {
    const { rt, counter } = await counterOf();
    const n = 300;
    const y = poisonedF32(rt, 'y', n);
    const y2 = poisonedF32(rt, 'y2', n);
    const run = async (out: GPUBuffer, v: number, s: number) => {
      const rec = rt.recorder('replayed', { replay: 'replay test' });
      await fill(rt, rec, { y: out, count: n, value: v });
      await scale(rt, rec, { y: out, count: n, value: s });
      counter.reset();
      await rec.submit();
      const calls = { ...counter.counts };
      return { calls, values: await rt.readF32(out, n) };
    };
    const first = await run(y, 2, 3);
    expect(first.calls.createBindGroup).toBe(2);
    expect(first.calls.createBuffer).toBe(1); // the tape's uniform buffer, made once
    expect(Array.from(first.values)).toEqual(Array(n).fill(6));
    const again = await run(y, 5, -7);
    expect(again.calls).toMatchObject({ createBuffer: 0, createBindGroup: 0, submits: 1, writeBuffers: 1 });
    expect(Array.from(again.values)).toEqual(Array(n).fill(-35));
    const same = await run(y, 5, -7);
    expect(same.calls).toMatchObject({ createBuffer: 0, createBindGroup: 0, writeBuffers: 0 });
    const moved = await run(y2, 0.5, 4);
    expect(moved.calls).toMatchObject({ createBuffer: 0, createBindGroup: 2 });
    expect(Array.from(moved.values)).toEqual(Array(n).fill(2));
    rt.memory.destroyOwner('test-output');
  });
});

describe('a steady training step', () => {
  it('makes no buffer or bind group, one submit per micro-batch and one readback; evaluation is forward-only', async () => {
    const { rt, counter } = await counterOf();
    const rng = seededRng('steady step calls');
    const d = parseModelConfig(TINY_CONFIGS.llama!);
    const gw = uploadRefWeights(rt, d, randomWeights(d, rng));
    const config = trainConfig(null, { lora: { rank: 2, alpha: 4, dropout: 0.1 }, microBatch: 2, gradAccum: 2 });
    const lora = createLora(rt, d, { ...config.lora, layers: [0, 1] }, peftInit(5));
    const T = 6;
    const engine = new ModelEngine(rt, gw, 2, T, lora, 'checkpointed');
    const trainer = new LoraTrainer(rt, engine, lora, config, 4);
    const batch = () =>
      microBatch(
        [0, 1].map(() => {
          const ids = Array.from({ length: T }, () => rng.int(0, d.vocab));
          return { ids, mask: ids.map((_, t) => (t >= 2 ? 1 : 0)) };
        }),
        T,
      );
    await trainer.trainStep([batch(), batch()]); // first step: bind groups and uniform buffers are made
    counter.reset();
    const report = await trainer.trainStep([batch(), batch()]);
    expect(Number.isFinite(report.loss) && Number.isFinite(report.gradNorm)).toBe(true);
    expect(counter.counts).toMatchObject({ createBuffer: 0, createBindGroup: 0, submits: 2, readbacks: 1 });
    expect(counter.counts.passes).toBeLessThan(counter.counts.dispatches / 4);

    // Evaluation: the loss of the forward-only path is the training path's, and no gradient is touched.
    const b = batch();
    const dA = lora.modules[0]!.params.dA;
    const gradsBefore = await rt.readF32(dA);
    counter.reset();
    await engine.evalMicroBatch(b, { scale: 0.25, accumulate: false });
    const evalCalls = { ...counter.counts };
    const evalLoss = await engine.readLoss();
    expect(Array.from(await rt.readF32(dA))).toEqual(Array.from(gradsBefore));
    await engine.trainMicroBatch(b, { scale: 0.25, accumulate: false });
    const trainLoss = await engine.readLoss();
    expect(evalLoss).toBe(trainLoss);
    counter.reset();
    await engine.trainMicroBatch(b, { scale: 0.25, accumulate: false });
    expect(evalCalls.dispatches).toBeLessThan(counter.counts.dispatches / 2);
    trainer.destroy();
    engine.destroy();
    rt.memory.destroyOwner('lora');
    rt.memory.destroyOwner(gw.owner);
  });
});
