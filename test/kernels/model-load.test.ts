/**
 * Issue 4's acceptance on the tiny models of every architecture, loaded from their files: logits of the GPU engine
 * (quant none) equal the float64 reference model's, with and without a random PEFT adapter; the same model from GGUF
 * gives the same logits; q8_0 / q4_0 / nf4 logits stay within stated bounds of the unquantized ones.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryByteSource } from '../../src/formats/byte-source.ts';
import { peftConfigJson, peftWeights, readPeftAdapter } from '../../src/formats/peft.ts';
import { LORA_TARGETS } from '../../src/model/allocations.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { loadModel } from '../../src/model/loader.ts';
import { loraFromPeft } from '../../src/model/lora-peft.ts';
import { MODULE_GROUP } from '../../src/model/lora-state.ts';
import { ModelEngine } from '../../src/model/model.ts';
import { NodeFolderModelSource } from '../../src/model/source-node.ts';
import { compareClose, expectClose } from '../harness/allclose.ts';
import { testRuntime } from '../harness/device.ts';
import { seededRng } from '../harness/rng.ts';
import { TOLERANCES } from '../harness/tolerances.ts';
import { type TinyModel, makeTinyModel } from '../fixtures/make-models.ts';
import { Tensor, Tape } from '../reference/model/tape.ts';
import { type RefLora, type RefWeights, refForward } from '../reference/model/transformer.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'model-load-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function refWeightsOf(m: TinyModel): RefWeights {
  return new Map(m.tensors.map((t) => [t.name, new Tensor(Float64Array.from(t.values), t.shape)]));
}

/** Quantized logits against the unquantized engine's: norm-wise relative error bound per format (see TOLERANCES). */
const QUANT_BOUND = { q8_0: TOLERANCES.logits_q8_0, q4_0: TOLERANCES.logits_q4_0, nf4: TOLERANCES.logits_nf4 } as const;

const CASES: {
  arch: Parameters<typeof makeTinyModel>[0];
  variant?: 'rope-llama3' | 'tied';
  dtype?: 'BF16' | 'F16';
  sharded?: boolean;
  adapter: boolean;
}[] = [
  { arch: 'llama', adapter: true },
  { arch: 'llama', variant: 'rope-llama3', dtype: 'BF16', adapter: true },
  { arch: 'llama', variant: 'tied', dtype: 'F16', adapter: false },
  { arch: 'mistral', adapter: true },
  { arch: 'qwen2', adapter: true },
  { arch: 'qwen3', sharded: true, adapter: true },
  { arch: 'gemma2', adapter: true },
  { arch: 'phi3', adapter: false },
];

describe('models loaded from files, GPU vs float64', () => {
  for (const c of CASES) {
    const name = [c.arch, c.variant, c.dtype, c.sharded ? 'sharded' : ''].filter(Boolean).join(' ');
    it(name, async () => {
      const rt = await testRuntime();
      const rng = seededRng(`model-load ${name}`);
      const dir = join(root, name.replace(/ /g, '-'));
      const m = await makeTinyModel(c.arch, dir, {
        ...(c.variant ? { variant: c.variant } : {}),
        ...(c.dtype ? { dtype: c.dtype } : {}),
        ...(c.sharded ? { sharded: true } : {}),
        gguf: c.dtype ? [] : ['F32'],
      });
      const d = parseModelConfig(m.config);
      const T = 8;
      const ids = Array.from({ length: T }, () => rng.int(0, d.vocab));
      const weights = refWeightsOf(m);
      const source = await NodeFolderModelSource.open(dir);

      const { weights: gw } = await loadModel(rt, source, { quant: 'none', owner: 'w-none' });
      const engine = new ModelEngine(rt, gw, 1, T, null, 'inference');
      const logits = await engine.logits({ ids: Uint32Array.from(ids), B: 1, T });
      expectClose(`${name} logits`, logits, refForward(new Tape(), d, weights, ids).data, TOLERANCES.model_f32);
      engine.destroy();

      if (c.adapter) {
        // A random PEFT adapter on every projection of the last layer, through the real file format.
        const R = 4;
        const layer = d.layers - 1;
        const modules = LORA_TARGETS.map((t) => {
          const w = weights.get(`model.layers.${layer}.${MODULE_GROUP[t]}.${t}.weight`)!;
          const [outF, inF] = w.shape as [number, number];
          return {
            path: `model.layers.${layer}.${MODULE_GROUP[t]}.${t}`,
            inFeatures: inF,
            outFeatures: outF,
            A: rng.f32(R * inF, -0.3, 0.3),
            B: rng.f32(outF * R, -0.3, 0.3),
          };
        });
        const e = {
          rank: R,
          alpha: 16,
          dropout: 0,
          rslora: false,
          targetModules: [...LORA_TARGETS],
          layersToTransform: [layer],
          baseModel: 'tiny',
          modules,
        };
        const adapter = await readPeftAdapter(peftConfigJson(e), new MemoryByteSource(peftWeights(e)));
        const lora = loraFromPeft(rt, gw.desc, adapter, 'test-lora');
        const withLora = new ModelEngine(rt, gw, 1, T, lora, 'inference');
        const got = await withLora.logits({ ids: Uint32Array.from(ids), B: 1, T });
        const refLora: RefLora = {
          scaling: adapter.scaling,
          modules: new Map(
            modules.map((x) => [
              x.path,
              {
                A: new Tensor(Float64Array.from(x.A), [R, x.inFeatures]),
                B: new Tensor(Float64Array.from(x.B), [x.outFeatures, R]),
              },
            ]),
          ),
        };
        expectClose(
          `${name} logits with adapter`,
          got,
          refForward(new Tape(), d, weights, ids, { lora: refLora }).data,
          TOLERANCES.model_f32,
        );
        expect(compareClose(got, logits, { atol: 1e-3, rtol: 0 }).ok).toBe(false); // the adapter changes the output
        withLora.destroy();
        rt.memory.destroyOwner('test-lora');
      }

      if (m.ggufFiles.F32) {
        const gg = await loadModel(rt, await NodeFolderModelSource.open(join(dir, m.ggufFiles.F32)), {
          quant: 'none',
          owner: 'w-gguf',
        });
        const ge = new ModelEngine(rt, gg.weights, 1, T, null, 'inference');
        expectClose(
          `${name} GGUF logits`,
          await ge.logits({ ids: Uint32Array.from(ids), B: 1, T }),
          logits,
          TOLERANCES.gguf_vs_safetensors,
        );
        ge.destroy();
        rt.memory.destroyOwner('w-gguf');
      }

      for (const quant of ['q8_0', 'q4_0', 'nf4'] as const) {
        const q = await loadModel(rt, source, { quant, owner: `w-${quant}` });
        const qe = new ModelEngine(rt, q.weights, 1, T, null, 'inference');
        const ql = await qe.logits({ ids: Uint32Array.from(ids), B: 1, T });
        const r = compareClose(ql, logits, QUANT_BOUND[quant]);
        console.log(
          `[bound] ${name} ${quant}: norm-wise ${r.normRel.toExponential(2)}, max abs ${r.maxAbs.toExponential(2)}`,
        );
        expect(r.ok, `${name} ${quant}: norm-wise ${r.normRel} (limit ${QUANT_BOUND[quant].normRel})`).toBe(true);
        qe.destroy();
        rt.memory.destroyOwner(`w-${quant}`);
      }
      rt.memory.destroyOwner('w-none');
    });
  }
});

describe('cli logits', () => {
  it('writes the engine logits for --tokens, with and without --adapter', async () => {
    const { command } = await import('../../src/cli/commands/logits.ts');
    const { readFile, mkdir, writeFile } = await import('node:fs/promises');
    const rng = seededRng('cli logits');
    const dir = join(root, 'cli-llama');
    const m = await makeTinyModel('qwen2', dir, {});
    const d = parseModelConfig(m.config);
    const weights = refWeightsOf(m);
    const ids = [3, 17, 42, 5, 99];
    const out = join(root, 'logits.json');
    expect(await command.run(['--model', dir, '--tokens', ids.join(','), '--out', out])).toBe(0);
    const plain = JSON.parse(await readFile(out, 'utf8')) as { tokens: number[]; logits: number[][] };
    expect(plain.tokens).toEqual(ids);
    expect(plain.logits).toHaveLength(ids.length);
    expectClose('cli logits', plain.logits.flat(), refForward(new Tape(), d, weights, ids).data, TOLERANCES.model_f32);

    const R = 2;
    const modules = (['q_proj', 'v_proj'] as const).map((t) => {
      const w = weights.get(`model.layers.0.self_attn.${t}.weight`)!;
      const [outF, inF] = w.shape as [number, number];
      return {
        path: `model.layers.0.self_attn.${t}`,
        inFeatures: inF,
        outFeatures: outF,
        A: rng.f32(R * inF, -0.5, 0.5),
        B: rng.f32(outF * R, -0.5, 0.5),
      };
    });
    const e = {
      rank: R,
      alpha: 4,
      dropout: 0,
      rslora: true,
      targetModules: ['q_proj', 'v_proj'],
      layersToTransform: [0],
      baseModel: 'tiny/qwen2',
      modules,
    };
    const adapterDir = join(root, 'adapter');
    await mkdir(adapterDir, { recursive: true });
    await writeFile(join(adapterDir, 'adapter_config.json'), peftConfigJson(e));
    await writeFile(join(adapterDir, 'adapter_model.safetensors'), peftWeights(e));
    expect(await command.run(['--model', dir, '--adapter', adapterDir, '--tokens', ids.join(','), '--out', out])).toBe(
      0,
    );
    const adapted = JSON.parse(await readFile(out, 'utf8')) as { logits: number[][] };
    const refLora: RefLora = {
      scaling: 4 / Math.sqrt(R), // rsLoRA
      modules: new Map(
        modules.map((x) => [
          x.path,
          {
            A: new Tensor(Float64Array.from(x.A), [R, x.inFeatures]),
            B: new Tensor(Float64Array.from(x.B), [x.outFeatures, R]),
          },
        ]),
      ),
    };
    expectClose(
      'cli logits --adapter',
      adapted.logits.flat(),
      refForward(new Tape(), d, weights, ids, { lora: refLora }).data,
      TOLERANCES.model_f32,
    );
  });
});

describe('cli generate', () => {
  it('streams the greedy continuation of a chat prompt and stops on the model eos ids', async () => {
    const { vi } = await import('vitest');
    const { command } = await import('../../src/cli/commands/generate.ts');
    const { loadTokenizer } = await import('../../src/data/tokenizer.ts');
    const { generate } = await import('../../src/model/generate.ts');
    const { stopTokenIds } = await import('../../src/model/generation-config.ts');
    const dir = join(root, 'cli-generate');
    const m = await makeTinyModel('qwen2', dir, {});
    const written: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      expect(await command.run(['--model', dir, '--prompt', 'Hello there', '--chat', '--max-tokens', '6'])).toBe(0);
    } finally {
      spy.mockRestore();
    }
    // The same continuation straight from the engine.
    const rt = await testRuntime();
    const source = await NodeFolderModelSource.open(dir);
    const tok = await loadTokenizer((n) => source.readText(n));
    const ids = tok.encode(
      tok.renderChat([{ role: 'user', content: 'Hello there' }], { addGenerationPrompt: true }),
      false,
    );
    const { weights } = await loadModel(rt, source, { quant: 'none', owner: 'w-gen' });
    const eos = stopTokenIds(weights.desc, await source.readText('generation_config.json'), tok.eosTokenId);
    expect(eos).toEqual(expect.arrayContaining(m.ids.generationEos));
    const engine = new ModelEngine(rt, weights, 1, ids.length + 6, null, 'inference');
    const r = await generate(rt, engine, ids, { maxNewTokens: 6, temperature: 0, eosTokenIds: eos });
    const text = tok.decode(
      r.tokens.filter((t) => !eos.includes(t)),
      true,
    );
    expect(written.join('')).toBe(`${text}\n`);
    engine.destroy();
    rt.memory.destroyOwner('w-gen');
  });
});
