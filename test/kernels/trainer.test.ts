/**
 * The trainer against a float64 reference trainer over three AdamW steps with gradient accumulation 2 (warm-up,
 * cosine, clipping, weight decay): at every step the same gradients at the same weights, and the same update from
 * those gradients; the loss is the mean over the unmasked tokens of the whole accumulated batch; and a small
 * memorization run drives the loss down.
 */
import { describe, expect, it } from 'vitest';
import { LORA_TARGETS } from '../../src/model/allocations.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { createLora, peftInit } from '../../src/model/lora-state.ts';
import { ModelEngine } from '../../src/model/model.ts';
import { trainConfig } from '../../src/schema/train.ts';
import { exportPeft } from '../../src/train/export.ts';
import { MemoryByteSource } from '../../src/formats/byte-source.ts';
import { readPeftAdapter } from '../../src/formats/peft.ts';
import { loraFromPeft } from '../../src/model/lora-peft.ts';
import { microBatch } from '../../src/train/batches.ts';
import { learningRate } from '../../src/train/schedule.ts';
import { evaluate } from '../../src/train/run.ts';
import { LoraTrainer } from '../../src/train/trainer.ts';
import { expectClose } from '../harness/allclose.ts';
import { testRuntime } from '../harness/device.ts';
import { uploadRefWeights } from '../harness/model-weights.ts';
import { seededRng } from '../harness/rng.ts';
import { TOLERANCES } from '../harness/tolerances.ts';
import { adamwStepRef, gradNormRef } from '../reference/adamw.ts';
import { add } from '../reference/model/ops.ts';
import { randomWeights } from '../reference/model/random.ts';
import { Tape, Tensor } from '../reference/model/tape.ts';
import { headFloor } from '../reference/model/head-floor.ts';
import { TINY_CONFIGS } from '../reference/model/tiny-configs.ts';
import { type RefLora, refLoss } from '../reference/model/transformer.ts';

describe('LoRA trainer', () => {
  it('matches a float64 reference trainer over 3 AdamW steps with accumulation 2', async () => {
    const rt = await testRuntime();
    const rng = seededRng('trainer vs reference');
    const d = parseModelConfig(TINY_CONFIGS.qwen2!);
    const weights = randomWeights(d, rng);
    const gw = uploadRefWeights(rt, d, weights);
    const config = trainConfig(null, {
      lora: { rank: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj', 'down_proj'] },
      optim: { lr: 2e-2, warmupSteps: 1, schedule: 'cosine', maxGradNorm: 0.5, weightDecay: 0.01 },
      microBatch: 2,
      gradAccum: 2,
    });
    const inits = new Map<string, { A: Float32Array; B: Float32Array }>();
    const init = peftInit(7);
    const lora = createLora(rt, d, { ...config.lora, layers: [0, 1] }, (m) => {
      const v = init(m);
      inits.set(m.path, v);
      return v;
    });
    const T = 7;
    const engine = new ModelEngine(rt, gw, 2, T, lora, 'checkpointed');
    const trainer = new LoraTrainer(rt, engine, lora, config, 3);

    // Two micro-batches of two rows with different numbers of trained tokens.
    const example = (trainFrom: number) => {
      const ids = Array.from({ length: T }, () => rng.int(0, d.vocab));
      return { ids, mask: ids.map((_, t) => (t >= trainFrom ? 1 : 0)) };
    };
    const steps = [0, 1, 2].map(() => [
      [example(2), example(5)],
      [example(1), example(6)],
    ]);

    // float64 reference trainer.
    const refLora: RefLora = {
      scaling: config.lora.alpha / config.lora.rank,
      modules: new Map(
        [...inits].map(([path, v]) => [
          path,
          {
            A: new Tensor(Float64Array.from(v.A), [2, v.A.length / 2], true),
            B: new Tensor(Float64Array.from(v.B), [v.B.length / 2, 2], true),
          },
        ]),
      ),
    };
    // Each trained tensor: the GPU's weight and gradient buffers beside the float64 reference tensor.
    const slots = lora.modules.flatMap((m) => {
      const ref = refLora.modules.get(m.path)!;
      return [
        { path: m.path, part: 'A', weight: m.params.A, grad: m.params.dA, ref: ref.A },
        { path: m.path, part: 'B', weight: m.params.B, grad: m.params.dB, ref: ref.B },
      ];
    });
    const params = slots.map((x) => x.ref);
    const moments = params.map((p) => ({ m: new Float64Array(p.size), v: new Float64Array(p.size) }));
    for (const [s, mbs] of steps.entries()) {
      const report = await trainer.trainStep(mbs.map((rows) => microBatch(rows, T)));
      for (const p of params) p.grad = null;
      const tape = new Tape();
      const rows = mbs.flat();
      const trained = rows.reduce((a, r) => a + r.mask.slice(1).filter((x) => x === 1).length, 0);
      const losses = rows.map((r) =>
        refLoss(tape, d, weights, r.ids, r.mask.slice(1), { lora: refLora, denominator: trained }),
      );
      const total = losses.slice(1).reduce((acc, l) => add(tape, acc, l), losses[0]!);
      tape.backward(total);
      // The reported loss is the mean over all trained tokens of the accumulated batch.
      expect(Math.abs(report.loss - total.data[0]!), `step ${s + 1} loss`).toBeLessThan(
        1e-5 * Math.abs(total.data[0]!) + 1e-6,
      );
      const refGrads = params.map((p) => p.grad ?? new Float64Array(p.size));
      const { norm } = gradNormRef(refGrads, 1, config.optim.maxGradNorm);
      expect(Math.abs(report.gradNorm - norm)).toBeLessThan(1e-4 * norm + 1e-7);
      const lr = learningRate(config.optim, s + 1, 3);
      expect(report.lr).toBe(lr);
      // Each part at its own conditioning, so no error compounds through the next: the GPU's gradients against the
      // float64 gradients at the same weights, then float64 AdamW run on the GPU's own gradients against the GPU's
      // update. (Comparing whole trajectories instead amplifies the f32 gradient error by |g|/|m̂| wherever a
      // gradient changes sign between steps: m̂ nearly cancels while √v̂ does not.)
      const gpuGrads: Float64Array[] = [];
      for (const [i, x] of slots.entries()) {
        const g = await rt.readF32(x.grad);
        expectClose(`${x.path} d${x.part} at step ${s + 1}`, g, refGrads[i]!, TOLERANCES.model_grad_f32);
        gpuGrads.push(Float64Array.from(g));
      }
      const { clip } = gradNormRef(gpuGrads, 1, config.optim.maxGradNorm);
      params.forEach((p, i) =>
        adamwStepRef(p.data, gpuGrads[i]!, moments[i]!.m, moments[i]!.v, { ...config.optim, lr }, s + 1, 1, clip),
      );
      for (const x of slots) {
        const w = await rt.readF32(x.weight);
        expectClose(`${x.path} ${x.part} after step ${s + 1}`, w, x.ref.data, TOLERANCES.trainer_f32);
        // The next step's float64 gradients are taken at the GPU's weights.
        x.ref.data.set(w);
      }
    }

    // The exported PEFT adapter, read back, gives exactly the trained in-memory model's logits.
    const files = await exportPeft(rt, lora, {
      baseModel: 'tiny',
      data: 'test',
      config,
      steps: 3,
      finalLoss: null,
      finalValLoss: null,
    });
    const file = (n: string) => files.find((f) => f.name === n)!.bytes;
    const adapter = await readPeftAdapter(
      new TextDecoder().decode(file('adapter_config.json')),
      new MemoryByteSource(file('adapter_model.safetensors')),
    );
    const reloaded = loraFromPeft(rt, d, adapter, 'reloaded');
    const ids = Uint32Array.from(steps[0]![0]![0]!.ids);
    const e1 = new ModelEngine(rt, gw, 1, T, lora, 'inference');
    const inMemory = await e1.logits({ ids, B: 1, T });
    e1.destroy();
    const e2 = new ModelEngine(rt, gw, 1, T, reloaded, 'inference');
    const fromFile = await e2.logits({ ids, B: 1, T });
    e2.destroy();
    expect(Array.from(fromFile)).toEqual(Array.from(inMemory));
    rt.memory.destroyOwner('reloaded');
    trainer.destroy();
    engine.destroy();
    rt.memory.destroyOwner('lora');
    rt.memory.destroyOwner(gw.owner);
  });

  it('memorizes a small set: the loss closes 70% of its gap to the lowest loss the frozen head allows', async () => {
    const rt = await testRuntime();
    const rng = seededRng('trainer memorize');
    const d = parseModelConfig(TINY_CONFIGS.llama!);
    const ref = randomWeights(d, rng);
    const gw = uploadRefWeights(rt, d, ref);
    const config = trainConfig(null, {
      lora: { rank: 8, alpha: 16 },
      optim: { lr: 2e-2, schedule: 'constant', maxGradNorm: 1 },
      microBatch: 2,
    });
    const lora = createLora(rt, d, { ...config.lora, targets: [...LORA_TARGETS], layers: [0, 1] }, peftInit(3));
    const T = 8;
    const rows = [0, 1].map(() => {
      const ids = Array.from({ length: T }, () => rng.int(0, d.vocab));
      return { ids, mask: ids.map((_, t) => (t >= 3 ? 1 : 0)) };
    });
    const engine = new ModelEngine(rt, gw, rows.length, T, lora, 'train');
    const trainer = new LoraTrainer(rt, engine, lora, config, 60);
    // A held-out copy of the training rows as the validation set.
    const heldOut = rows.map((r) => ({ ids: [...r.ids], mask: [...r.mask] }));
    const valBefore = (await evaluate(engine, heldOut, 2, T)).loss;
    const losses: number[] = [];
    for (let s = 0; s < 60; s++) losses.push((await trainer.trainStep([microBatch(rows, T)])).loss);
    const valAfter = (await evaluate(engine, heldOut, 2, T)).loss;
    // Not to zero: the tiny model's head is frozen and random (V = 23 rows in C = 16) and sees the final norm's
    // output, whose length is fixed, so each target has a floor (float64, test/reference/model/head-floor.ts) —
    // 0.3 to 1.0 of the starting ≈ 3–4 depending on the seed. The loss must close 70% of the gap to that floor.
    const head = ref.get(d.tieEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight')!.data;
    const g = ref.get('model.norm.weight')!.data;
    const targets = rows.flatMap((r) => r.ids.filter((_, t) => t >= 1 && r.mask[t] === 1));
    const floor = targets.reduce((a, t) => a + headFloor(head, d.vocab, d.hidden, g, t, rng), 0) / targets.length;
    console.log(
      `[memorize] floor ${floor.toFixed(3)} val ${valBefore.toFixed(3)} → ${valAfter.toFixed(3)}; ${losses.map((l) => l.toFixed(2)).join(' ')}`,
    );
    expect(valAfter).toBeGreaterThanOrEqual(floor - 1e-3);
    expect(valAfter - floor).toBeLessThan(0.3 * (valBefore - floor));
    expect(losses[0]!).toBeGreaterThan(2);
    expect(losses.at(-1)! - floor).toBeLessThan(0.3 * (losses[0]! - floor));
    expect(losses.at(-1)!).toBeLessThan(losses[10]!);
    trainer.destroy();
    engine.destroy();
    rt.memory.destroyOwner('lora');
    rt.memory.destroyOwner(gw.owner);
  });
});

describe('checkpoints', () => {
  it('a run stopped at step 2 and resumed from its checkpoint equals the uninterrupted run', async () => {
    const { runTraining } = await import('../../src/train/run.ts');
    const { restoreCheckpoint, saveCheckpoint, readRunState } = await import('../../src/train/checkpoint.ts');
    const rt = await testRuntime();
    const rng = seededRng('checkpoint resume');
    const d = parseModelConfig(TINY_CONFIGS.llama!);
    const gw = uploadRefWeights(rt, d, randomWeights(d, rng));
    const config = trainConfig(null, {
      lora: { rank: 4, alpha: 8, dropout: 0.1 },
      optim: { lr: 1e-2, warmupSteps: 1 },
      microBatch: 2,
      gradAccum: 2,
      steps: 4,
      seed: 11,
    });
    const T = 7;
    const train = Array.from({ length: 5 }, () => {
      const ids = Array.from({ length: T }, () => rng.int(0, d.vocab));
      return { ids, mask: ids.map((_, t) => (t >= 2 ? 1 : 0)) };
    });
    const setup = () => {
      const lora = createLora(rt, d, { ...config.lora, layers: [0, 1] }, peftInit(config.seed));
      const engine = new ModelEngine(rt, gw, config.microBatch, T, lora, 'checkpointed');
      const trainer = new LoraTrainer(rt, engine, lora, config, 4);
      const teardown = () => {
        trainer.destroy();
        engine.destroy();
        rt.memory.destroyOwner('lora');
      };
      return { lora, engine, trainer, teardown };
    };
    const weightsOf = async (lora: ReturnType<typeof setup>['lora']) =>
      Promise.all(lora.modules.map(async (m) => Array.from(await rt.readF32(m.params.B))));

    const a = setup();
    const straight: number[] = [];
    await runTraining({
      config,
      trainer: a.trainer,
      engine: a.engine,
      train,
      valid: [],
      T,
      onMetric: (m) => void ('loss' in m && straight.push(m.loss)),
    });
    const straightWeights = await weightsOf(a.lora);
    a.teardown();

    const b = setup();
    const resumed: number[] = [];
    let saved: Uint8Array | null = null;
    await runTraining({
      config,
      trainer: b.trainer,
      engine: b.engine,
      train,
      valid: [],
      T,
      onMetric: (m) => void ('loss' in m && resumed.push(m.loss)),
      afterStep: async (step, data) => {
        if (step < 2) return true;
        saved = await saveCheckpoint(rt, b.trainer.optimizer, data, config, { note: 'stopped' });
        return false;
      },
    });
    b.teardown();
    expect(resumed).toHaveLength(2);
    expect((await readRunState(saved!)).step).toBe(2);

    const c = setup(); // fresh adapters: every value comes from the checkpoint
    const { data } = await restoreCheckpoint(rt, c.trainer.optimizer, saved!, train.length);
    expect(c.trainer.step).toBe(2);
    await runTraining({
      config,
      trainer: c.trainer,
      engine: c.engine,
      train,
      valid: [],
      T,
      data,
      onMetric: (m) => void ('loss' in m && resumed.push(m.loss)),
    });
    expect(resumed).toEqual(straight);
    expect(await weightsOf(c.lora)).toEqual(straightWeights);
    c.teardown();
    rt.memory.destroyOwner(gw.owner);
  });
});
