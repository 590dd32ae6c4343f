/**
 * LoRA on Phi-3 (fused qkv_proj / gate_up_proj in the files, split q/k/v and gate/up in the engine), on a tiny phi3
 * loaded from its files (with GQA: 4 heads, 2 kv heads, so q and k/v blocks differ in size):
 * - a few training steps, the PEFT export (fused keys, one rank), read back with loraFromPeft into a fresh engine,
 *   gives the trained in-memory model's logits, and the float64 reference applying the exported fused adapter
 *   directly agrees with both;
 * - a PEFT adapter made by hand in the fused layout gives the float64 reference's logits with the fused math.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryByteSource } from '../../src/formats/byte-source.ts';
import { type PeftAdapter, peftConfigJson, peftWeights, readPeftAdapter } from '../../src/formats/peft.ts';
import { LORA_TARGETS } from '../../src/model/allocations.ts';
import { type ModelDescription, parseModelConfig } from '../../src/model/config.ts';
import { loadModel } from '../../src/model/loader.ts';
import { loraFromPeft } from '../../src/model/lora-peft.ts';
import { createLora, peftInit } from '../../src/model/lora-state.ts';
import { ModelEngine } from '../../src/model/model.ts';
import { NodeFolderModelSource } from '../../src/model/source-node.ts';
import { trainConfig } from '../../src/schema/train.ts';
import { microBatch } from '../../src/train/batches.ts';
import { exportPeft } from '../../src/train/export.ts';
import { LoraTrainer } from '../../src/train/trainer.ts';
import { compareClose, expectClose } from '../harness/allclose.ts';
import { testRuntime } from '../harness/device.ts';
import { seededRng } from '../harness/rng.ts';
import { TOLERANCES } from '../harness/tolerances.ts';
import { type TinyModel, makeTinyModel } from '../fixtures/make-models.ts';
import { Tape, Tensor } from '../reference/model/tape.ts';
import { type RefLora, type RefWeights, refForward } from '../reference/model/transformer.ts';

let root: string;
let model: TinyModel;
let d: ModelDescription;
let weights: RefWeights;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'phi3-lora-'));
  model = await makeTinyModel('phi3', join(root, 'phi3'), { dims: { kvHeads: 2 } });
  d = parseModelConfig(model.config);
  weights = new Map(model.tensors.map((t) => [t.name, new Tensor(Float64Array.from(t.values), t.shape)]));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The float64 reference's LoRA from a PEFT adapter as it is in the file (fused modules applied as fused). */
function refLoraOf(a: PeftAdapter): RefLora {
  return {
    scaling: a.scaling,
    modules: new Map(
      [...a.modules].map(([path, m]) => [
        path,
        {
          A: new Tensor(Float64Array.from(m.A), [a.rank, m.inFeatures]),
          B: new Tensor(Float64Array.from(m.B), [m.outFeatures, a.rank]),
        },
      ]),
    ),
  };
}

describe('LoRA on phi3 (fused projections)', () => {
  it('trains, exports PEFT with qkv_proj / gate_up_proj, and the file reloads to the same logits', async () => {
    expect(d.fused).toBe(true);
    expect(d.kvHeads).toBeLessThan(d.heads);
    const rt = await testRuntime();
    const rng = seededRng('phi3 lora train');
    const { weights: gw } = await loadModel(rt, await NodeFolderModelSource.open(model.dir), {
      quant: 'none',
      owner: 'phi3-w',
    });
    const config = trainConfig(null, {
      lora: { rank: 2, alpha: 4, dropout: 0, targets: [...LORA_TARGETS] },
      optim: { lr: 5e-2, warmupSteps: 0, schedule: 'constant', maxGradNorm: 1, weightDecay: 0 },
      microBatch: 2,
    });
    const lora = createLora(rt, d, { ...config.lora, layers: [0, 1] }, peftInit(11));
    expect(lora.fused).toEqual({ q: d.heads * d.headDim, kv: d.kvHeads * d.headDim, intermediate: d.intermediate });
    expect(lora.modules.map((m) => m.path).slice(0, 3)).toEqual([
      'model.layers.0.self_attn.q_proj',
      'model.layers.0.self_attn.k_proj',
      'model.layers.0.self_attn.v_proj',
    ]);
    const T = 8;
    const rows = [0, 1].map(() => {
      const ids = Array.from({ length: T }, () => rng.int(0, d.vocab));
      return { ids, mask: ids.map((_, t) => (t >= 2 ? 1 : 0)) };
    });
    const engine = new ModelEngine(rt, gw, 2, T, lora, 'train');
    const trainer = new LoraTrainer(rt, engine, lora, config, 3);
    const losses: number[] = [];
    for (let s = 0; s < 3; s++) losses.push((await trainer.trainStep([microBatch(rows, T)])).loss);
    expect(losses[2]!).toBeLessThan(losses[0]!);
    trainer.destroy();
    engine.destroy();

    const files = await exportPeft(rt, lora, {
      baseModel: 'tiny/phi3',
      data: 'test',
      config,
      steps: 3,
      finalLoss: losses[2]!,
      finalValLoss: null,
    });
    const file = (n: string) => files.find((f) => f.name === n)!.bytes;
    const configText = new TextDecoder().decode(file('adapter_config.json'));
    // qkv from three rank-2 parts: R' = 6; alpha' = 4·6/2 keeps the scaling 2.
    expect(JSON.parse(configText)).toMatchObject({
      r: 6,
      lora_alpha: 12,
      target_modules: ['qkv_proj', 'o_proj', 'gate_up_proj', 'down_proj'],
    });
    const adapter = await readPeftAdapter(configText, new MemoryByteSource(file('adapter_model.safetensors')));
    expect(adapter.scaling).toBe(2);
    expect([...adapter.modules.keys()]).toEqual(
      [0, 1].flatMap((l) => [
        `model.layers.${l}.self_attn.qkv_proj`,
        `model.layers.${l}.self_attn.o_proj`,
        `model.layers.${l}.mlp.gate_up_proj`,
        `model.layers.${l}.mlp.down_proj`,
      ]),
    );
    const qkv = adapter.modules.get('model.layers.0.self_attn.qkv_proj')!;
    expect([qkv.outFeatures, qkv.inFeatures]).toEqual([(d.heads + 2 * d.kvHeads) * d.headDim, d.hidden]);

    const reloaded = loraFromPeft(rt, d, adapter, 'phi3-reloaded');
    expect(reloaded.modules.map((m) => m.path)).toEqual(lora.modules.map((m) => m.path));
    const ids = Uint32Array.from({ length: T }, () => rng.int(0, d.vocab));
    const e1 = new ModelEngine(rt, gw, 1, T, lora, 'inference');
    const inMemory = await e1.logits({ ids, B: 1, T });
    e1.destroy();
    const e2 = new ModelEngine(rt, gw, 1, T, reloaded, 'inference');
    const fromFile = await e2.logits({ ids, B: 1, T });
    e2.destroy();
    const e0 = new ModelEngine(rt, gw, 1, T, null, 'inference');
    const base = await e0.logits({ ids, B: 1, T });
    e0.destroy();
    // The trained adapter changes the output, and the reloaded (rank 6, zero blocks) one changes it identically up
    // to f32 summation order.
    expect(compareClose(inMemory, base, { atol: 1e-3, rtol: 0 }).ok).toBe(false);
    const r = compareClose(fromFile, inMemory, TOLERANCES.phi3_fused_reload);
    console.log(
      `[bound] phi3 reloaded vs in-memory: max abs ${r.maxAbs.toExponential(2)}, norm-wise ${r.normRel.toExponential(2)}`,
    );
    expectClose('phi3 reloaded PEFT vs in-memory logits', fromFile, inMemory, TOLERANCES.phi3_fused_reload);
    // The float64 reference applying the file's fused qkv_proj / gate_up_proj adapters directly.
    const ref = refForward(new Tape(), d, weights, Array.from(ids), { lora: refLoraOf(adapter) }).data;
    expectClose(
      'phi3 in-memory logits vs float64 with the exported fused adapter',
      inMemory,
      ref,
      TOLERANCES.model_f32,
    );
    rt.memory.destroyOwner('phi3-reloaded');
    rt.memory.destroyOwner(lora.owner);
    rt.memory.destroyOwner('phi3-w');
  });

  it('a PEFT adapter made in the fused layout gives the float64 reference logits', async () => {
    const rt = await testRuntime();
    const rng = seededRng('phi3 lora fused by hand');
    const { weights: gw } = await loadModel(rt, await NodeFolderModelSource.open(model.dir), {
      quant: 'none',
      owner: 'phi3-w2',
    });
    const R = 3;
    const C = d.hidden;
    const shapes: Record<string, [number, number]> = {
      'self_attn.qkv_proj': [(d.heads + 2 * d.kvHeads) * d.headDim, C],
      'self_attn.o_proj': [C, d.heads * d.headDim],
      'mlp.gate_up_proj': [2 * d.intermediate, C],
      'mlp.down_proj': [C, d.intermediate],
    };
    const modules = Object.entries(shapes).map(([name, [outF, inF]]) => ({
      path: `model.layers.1.${name}`,
      inFeatures: inF,
      outFeatures: outF,
      A: rng.f32(R * inF, -0.4, 0.4),
      B: rng.f32(outF * R, -0.4, 0.4),
    }));
    const e = {
      rank: R,
      alpha: 5,
      dropout: 0,
      rslora: true,
      targetModules: ['qkv_proj', 'o_proj', 'gate_up_proj', 'down_proj'],
      layersToTransform: [1],
      baseModel: 'tiny/phi3',
      modules,
    };
    const adapter = await readPeftAdapter(peftConfigJson(e), new MemoryByteSource(peftWeights(e)));
    const lora = loraFromPeft(rt, gw.desc, adapter, 'phi3-hand');
    expect(lora.modules.map((m) => m.target)).toEqual([...LORA_TARGETS]);
    expect(lora.settings.rank).toBe(R);
    const T = 8;
    const ids = Array.from({ length: T }, () => rng.int(0, d.vocab));
    const engine = new ModelEngine(rt, gw, 1, T, lora, 'inference');
    const got = await engine.logits({ ids: Uint32Array.from(ids), B: 1, T });
    engine.destroy();
    const ref = refForward(new Tape(), d, weights, ids, { lora: refLoraOf(adapter) }).data;
    const plain = refForward(new Tape(), d, weights, ids).data;
    expect(compareClose(Float32Array.from(ref), Float32Array.from(plain), { atol: 1e-3, rtol: 0 }).ok).toBe(false); // the adapter matters
    expectClose('phi3 fused PEFT adapter vs float64', got, ref, TOLERANCES.model_f32);

    // The adapter's qkv_proj on a model whose k/v are another size is refused, not misapplied.
    const wrong = parseModelConfig({ ...model.config, num_key_value_heads: 4 });
    expect(() => loraFromPeft(rt, wrong, adapter, 'phi3-wrong')).toThrow(/another base model/);
    rt.memory.destroyOwner('phi3-hand');
    rt.memory.destroyOwner('phi3-w2');
  });
});
