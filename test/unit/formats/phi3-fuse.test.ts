/**
 * Phi-3's fused LoRA layout (src/formats/phi3-fuse.ts): fusing the engine's q/k/v and gate/up adapters into PEFT's
 * qkv_proj / gate_up_proj (block-diagonal B, stacked A, zero padding to one rank, alpha scaled) and splitting them
 * back are exact: every module's ΔW = scaling·B@A is unchanged, and the blocks hold the original tensors.
 */
import { describe, expect, it } from 'vitest';
import { MemoryByteSource } from '../../../src/formats/byte-source.ts';
import { ggufLoraFile, readGgufLora } from '../../../src/formats/gguf-lora.ts';
import { readPeftAdapter } from '../../../src/formats/peft.ts';
import {
  FUSED_PARTS,
  type FusedLayout,
  fusedLayout,
  fusePhi3Adapter,
  Phi3FuseError,
  splitPhi3Adapter,
} from '../../../src/formats/phi3-fuse.ts';
import { parseModelConfig } from '../../../src/model/config.ts';
import { trainConfig } from '../../../src/schema/train.ts';
import type { AdapterTensors } from '../../../src/train/adapter.ts';
import { peftFiles } from '../../../src/train/export.ts';
import { adapterExportFiles } from '../../../src/train/export-formats.ts';
import { randomAdapter, type Target } from '../../fixtures/random-adapter.ts';
import { seededRng } from '../../harness/rng.ts';

// GQA (Phi-4-mini is a Phi3ForCausalLM with 24 heads and 8 kv heads): q rows ≠ k/v rows, so a misplaced block shows.
const desc = parseModelConfig({
  model_type: 'phi3',
  hidden_size: 24,
  intermediate_size: 20,
  num_hidden_layers: 3,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 40,
});
const layout = fusedLayout(desc)!;
const scalingOf = (e: Pick<AdapterTensors, 'alpha' | 'rank' | 'rslora'>) =>
  e.rslora ? e.alpha / Math.sqrt(e.rank) : e.alpha / e.rank;

/** scaling·B@A of one module, float64 [out, in]. */
function delta(m: AdapterTensors['modules'][number], rank: number, scaling: number): Float64Array {
  const out = new Float64Array(m.outFeatures * m.inFeatures);
  for (let i = 0; i < m.outFeatures; i++) {
    for (let k = 0; k < m.inFeatures; k++) {
      let s = 0;
      for (let j = 0; j < rank; j++) s += m.B[i * rank + j]! * m.A[j * m.inFeatures + k]!;
      out[i * m.inFeatures + k] = s * scaling;
    }
  }
  return out;
}

function expectSameDelta(got: Float64Array, want: Float64Array, what: string): void {
  expect(got.length, what).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++)
    worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / (Math.abs(want[i]!) + 1e-12));
  // Only the scaling alpha'/R' vs alpha/r can differ, by an ulp or so of float64.
  expect(worst, what).toBeLessThan(1e-12);
}

/** ΔW of every module of an adapter in the split layout, by path (fused modules split by rows first). */
function splitDeltas(e: AdapterTensors, l: FusedLayout): Map<string, Float64Array> {
  const s = splitPhi3Adapter(e, l);
  return new Map(s.modules.map((m) => [m.path, delta(m, s.rank, scalingOf(s))]));
}

const facts = {
  baseModel: 'tiny/phi3',
  data: 'chat.jsonl',
  config: trainConfig(null, { lora: { rank: 3, alpha: 6 } }),
  steps: 5,
  finalLoss: 1,
  finalValLoss: null,
};

describe('fusePhi3Adapter', () => {
  it('every target: qkv rank 3r, gate_up rank 2r, everything padded to R = 3r, alpha·R/r, PEFT names', () => {
    const r = 3;
    const e = randomAdapter(desc, seededRng('phi3 fuse all'), { rank: r, alpha: 6, layers: [0, 2] });
    const f = fusePhi3Adapter(e, layout);
    expect(f.rank).toBe(3 * r);
    expect(f.alpha).toBe(6 * 3);
    expect(scalingOf(f)).toBe(scalingOf(e));
    expect(f.targetModules).toEqual(['qkv_proj', 'o_proj', 'gate_up_proj', 'down_proj']);
    expect(f.layersToTransform).toEqual([0, 2]);
    expect(f.modules.map((m) => m.path)).toEqual(
      [0, 2].flatMap((l) => [
        `model.layers.${l}.self_attn.qkv_proj`,
        `model.layers.${l}.self_attn.o_proj`,
        `model.layers.${l}.mlp.gate_up_proj`,
        `model.layers.${l}.mlp.down_proj`,
      ]),
    );
    const C = desc.hidden;
    const R = f.rank;
    const byPath = new Map(f.modules.map((m) => [m.path, m]));
    const orig = new Map(e.modules.map((m) => [m.path, m]));
    const qkv = byPath.get('model.layers.2.self_attn.qkv_proj')!;
    expect([qkv.outFeatures, qkv.inFeatures]).toEqual([layout.q + 2 * layout.kv, C]);
    expect(qkv.A.length).toBe(R * C);
    expect(qkv.B.length).toBe((layout.q + 2 * layout.kv) * R);
    // A = [A_q; A_k; A_v], B = blockdiag(B_q, B_k, B_v).
    const parts: [string, number, number][] = [
      ['q_proj', 0, layout.q],
      ['k_proj', layout.q, layout.kv],
      ['v_proj', layout.q + layout.kv, layout.kv],
    ];
    for (const [b, [part, row0, rows]] of parts.entries()) {
      const o = orig.get(`model.layers.2.self_attn.${part}`)!;
      expect(Array.from(qkv.A.subarray(b * r * C, (b + 1) * r * C))).toEqual(Array.from(o.A));
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < R; j++) {
          const inBlock = j >= b * r && j < (b + 1) * r;
          expect(qkv.B[(row0 + i) * R + j]).toBe(inBlock ? o.B[i * r + (j - b * r)] : 0);
        }
      }
    }
    // gate_up: rank 2r, zero-padded to 3r.
    const gu = byPath.get('model.layers.0.mlp.gate_up_proj')!;
    expect([gu.outFeatures, gu.inFeatures]).toEqual([2 * layout.intermediate, C]);
    expect(Array.from(gu.A.subarray(2 * r * C)).every((x) => x === 0)).toBe(true);
    for (let i = 0; i < gu.outFeatures; i++)
      expect(Array.from(gu.B.subarray(i * R + 2 * r, (i + 1) * R)).every((x) => x === 0)).toBe(true);
    // o_proj / down_proj: zero rows of A and zero columns of B beyond r; the original values in front.
    const o = byPath.get('model.layers.0.self_attn.o_proj')!;
    const oo = orig.get('model.layers.0.self_attn.o_proj')!;
    expect(Array.from(o.A.subarray(0, r * o.inFeatures))).toEqual(Array.from(oo.A));
    expect(Array.from(o.A.subarray(r * o.inFeatures)).every((x) => x === 0)).toBe(true);
    for (let i = 0; i < o.outFeatures; i++) {
      expect(Array.from(o.B.subarray(i * R, i * R + r))).toEqual(Array.from(oo.B.subarray(i * r, i * r + r)));
      expect(Array.from(o.B.subarray(i * R + r, (i + 1) * R)).every((x) => x === 0)).toBe(true);
    }
  });

  it('fuse → split gives back every module’s ΔW = scaling·B@A exactly (rsLoRA too), and the original blocks', () => {
    for (const rslora of [false, true]) {
      const r = 2;
      const e = randomAdapter(desc, seededRng(`phi3 round trip ${rslora}`), { rank: r, alpha: 5, rslora });
      const f = fusePhi3Adapter(e, layout);
      expect(f.alpha).toBeCloseTo(rslora ? 5 * Math.sqrt(3) : 15, 12);
      expect(Math.abs(scalingOf(f) - scalingOf(e))).toBeLessThan(1e-15 * scalingOf(e));
      const back = splitPhi3Adapter(f, layout);
      expect(back.targetModules).toEqual(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']);
      expect(back.modules.map((m) => m.path).sort()).toEqual(e.modules.map((m) => m.path).sort());
      const got = splitDeltas(f, layout);
      for (const m of e.modules)
        expectSameDelta(got.get(m.path)!, delta(m, r, scalingOf(e)), `${m.path} rslora ${rslora}`);
      // The split part holds the original A and B as its block: A rows b·r.., B columns b·r.. (zeros elsewhere).
      for (const m of back.modules) {
        const o = e.modules.find((x) => x.path === m.path)!;
        const short = m.path.slice(m.path.lastIndexOf('.') + 1);
        const group = Object.values(FUSED_PARTS).find((p) => p.includes(short as never));
        const b = group ? group.indexOf(short as never) : 0;
        const R = back.rank;
        expect(Array.from(m.A.subarray(b * r * m.inFeatures, (b + 1) * r * m.inFeatures)), m.path).toEqual(
          Array.from(o.A),
        );
        for (let i = 0; i < m.outFeatures; i++) {
          for (let j = 0; j < R; j++)
            expect(m.B[i * R + j], m.path).toBe(j >= b * r && j < (b + 1) * r ? o.B[i * r + j - b * r] : 0);
        }
      }
    }
  });

  it('only some of q/k/v: the missing parts are zero row blocks; the largest fused rank sets R', () => {
    const r = 2;
    const targets: Target[] = ['q_proj', 'v_proj', 'up_proj', 'o_proj'];
    const e = randomAdapter(desc, seededRng('phi3 partial'), { rank: r, alpha: 4, targets, layers: [1] });
    const f = fusePhi3Adapter(e, layout);
    expect(f.rank).toBe(2 * r); // qkv from q and v; gate_up from up alone (rank r, padded)
    expect(f.alpha).toBe(8);
    expect(f.targetModules).toEqual(['qkv_proj', 'o_proj', 'gate_up_proj']);
    const qkv = f.modules.find((m) => m.path.endsWith('qkv_proj'))!;
    const R = f.rank;
    // k rows are all zero.
    expect(Array.from(qkv.B.subarray(layout.q * R, (layout.q + layout.kv) * R)).every((x) => x === 0)).toBe(true);
    const gu = f.modules.find((m) => m.path.endsWith('gate_up_proj'))!;
    expect(Array.from(gu.B.subarray(0, layout.intermediate * R)).every((x) => x === 0)).toBe(true); // gate rows
    const got = splitDeltas(f, layout);
    for (const m of e.modules) expectSameDelta(got.get(m.path)!, delta(m, r, scalingOf(e)), m.path);
    for (const missing of ['model.layers.1.self_attn.k_proj', 'model.layers.1.mlp.gate_proj'])
      expect(got.get(missing)!.every((x) => x === 0)).toBe(true);
  });

  it('without fusable targets nothing changes but the names; a fused adapter is returned as it is', () => {
    const e = randomAdapter(desc, seededRng('phi3 o only'), { rank: 4, alpha: 8, targets: ['o_proj', 'down_proj'] });
    const f = fusePhi3Adapter(e, layout);
    expect(f.rank).toBe(4);
    expect(f.alpha).toBe(8);
    expect(f.modules.map((m) => m.A)).toEqual(e.modules.map((m) => m.A));
    const all = fusePhi3Adapter(randomAdapter(desc, seededRng('phi3 twice'), { rank: 2 }), layout);
    const again = fusePhi3Adapter(all, layout);
    expect(again.rank).toBe(all.rank);
    expect(again.alpha).toBe(all.alpha);
    expect(again.modules.map((m) => m.path)).toEqual(all.modules.map((m) => m.path));
  });

  it('refuses a layer with a fused module and one of its parts, and parts of another model’s shape', () => {
    const e = randomAdapter(desc, seededRng('phi3 mixed'), { rank: 2, targets: ['q_proj'], layers: [0] });
    const fused = fusePhi3Adapter(e, layout);
    const mixed = { ...e, modules: [...e.modules, ...fused.modules] };
    expect(() => fusePhi3Adapter(mixed, layout)).toThrow(Phi3FuseError);
    expect(() => splitPhi3Adapter(mixed, layout)).toThrow(/both on its own/);
    expect(() => fusePhi3Adapter(e, { ...layout, q: layout.q + 1 })).toThrow(/another base model/);
    expect(() => splitPhi3Adapter(fused, { ...layout, kv: layout.kv + 1 })).toThrow(/another base model/);
  });
});

describe('phi3 PEFT export', () => {
  it('peftFiles and adapterExportFiles write qkv_proj / gate_up_proj keys that read back to the same ΔW', async () => {
    const r = 3;
    const e = randomAdapter(desc, seededRng('phi3 peft files'), { rank: r, alpha: 6, baseModel: 'tiny/phi3' });
    const want = new Map(e.modules.map((m) => [m.path, delta(m, r, scalingOf(e))]));
    const viaPeftFiles = peftFiles(e, facts, 'f32', layout);
    const viaExports = await adapterExportFiles('peft', e, { facts: null, desc, dtype: 'f32' });
    for (const files of [viaPeftFiles, viaExports]) {
      const file = (n: string) => files.find((f) => f.name === n)!.bytes;
      const config = JSON.parse(new TextDecoder().decode(file('adapter_config.json'))) as Record<string, unknown>;
      expect(config).toMatchObject({
        r: 3 * r,
        lora_alpha: 18,
        target_modules: ['qkv_proj', 'o_proj', 'gate_up_proj', 'down_proj'],
      });
      expect(config).not.toHaveProperty('rank_pattern');
      const adapter = await readPeftAdapter(
        new TextDecoder().decode(file('adapter_config.json')),
        new MemoryByteSource(file('adapter_model.safetensors')),
      );
      expect([...adapter.modules.keys()].filter((p) => p.startsWith('model.layers.0.'))).toEqual([
        'model.layers.0.self_attn.qkv_proj',
        'model.layers.0.self_attn.o_proj',
        'model.layers.0.mlp.gate_up_proj',
        'model.layers.0.mlp.down_proj',
      ]);
      const back: AdapterTensors = {
        ...e,
        rank: adapter.rank,
        alpha: adapter.config.lora_alpha,
        modules: [...adapter.modules.values()],
      };
      const got = splitDeltas(back, layout);
      for (const [path, d] of want) expectSameDelta(got.get(path)!, d, path);
    }
    expect(new TextDecoder().decode(viaPeftFiles.find((f) => f.name === 'README.md')!.bytes)).toContain(
      'qkv_proj / gate_up_proj',
    );
    // A PEFT folder of phi3 (fused keys) converts to PEFT again unchanged.
    const fused = fusePhi3Adapter(e, layout);
    const again = await adapterExportFiles('peft', fused, { facts: null, desc, dtype: 'f32' });
    expect(
      JSON.parse(new TextDecoder().decode(again.find((f) => f.name === 'adapter_config.json')!.bytes)),
    ).toMatchObject({ r: 3 * r, lora_alpha: 18 });
  });

  it('MLX refuses phi3 with a message that points to PEFT; GGUF LoRA writes the fused adapter', async () => {
    const e = randomAdapter(desc, seededRng('phi3 refuse'), { rank: 2 });
    await expect(adapterExportFiles('mlx', e, { facts, desc, dtype: 'f32' })).rejects.toThrow(
      /MLX export of a Phi-3 adapter is not supported.*Export PEFT/,
    );
    const files = await adapterExportFiles('gguf', e, { facts, desc, dtype: 'f32' });
    const gguf = files.find((f) => f.name.endsWith('.gguf'))!;
    const back = await readGgufLora(new MemoryByteSource(gguf.bytes), desc);
    const fused = fusePhi3Adapter(e, layout);
    expect(back.modules.map((m) => m.path).sort()).toEqual(fused.modules.map((m) => m.path).sort());
    expect(back.alpha / back.rank).toBe(fused.alpha / fused.rank);
    for (const m of fused.modules) {
      const got = back.modules.find((b) => b.path === m.path)!;
      expect(got.A, m.path).toEqual(m.A);
      expect(got.B, m.path).toEqual(m.B);
    }
    // Split parts (not fused first) have no llama.cpp tensor.
    expect(() => ggufLoraFile(e, desc)).toThrow(/fuse the q\/k\/v and gate\/up adapters first/);
  });
});
