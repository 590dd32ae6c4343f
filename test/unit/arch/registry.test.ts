/**
 * The architecture registry (src/arch/): one file per family, each parsed from its own tiny config into the
 * description its flags promise, and everything else that names families (the catalog, the GGUF mapping) agrees.
 */
import { describe, expect, it } from 'vitest';
import { ARCHITECTURE_IDS, ARCHITECTURES, ggufArchitecture } from '../../../src/arch/registry.ts';
import { ggufArchName } from '../../../src/formats/gguf-lora.ts';
import { ggufTensorMapping, ggufToHfName, hfToGgufName } from '../../../src/formats/gguf-names.ts';
import { CATALOG } from '../../../src/model/catalog.ts';
import { parseModelConfig, SUPPORTED_ARCHITECTURES, UnsupportedModelError } from '../../../src/model/config.ts';
import { expectedTensors } from '../../../src/model/tensors.ts';

describe('architecture registry', () => {
  it('holds the seven families in their order (and any added since), and config.ts supports exactly those', () => {
    const seven = ['llama', 'mistral', 'qwen2', 'qwen3', 'gemma', 'gemma2', 'phi3'];
    expect(ARCHITECTURE_IDS.filter((id) => seven.includes(id))).toEqual(seven);
    expect(new Set(ARCHITECTURE_IDS).size).toBe(ARCHITECTURE_IDS.length);
    expect(SUPPORTED_ARCHITECTURES).toEqual(ARCHITECTURE_IDS);
    expect(() => parseModelConfig({ ...ARCHITECTURES[0]!.tinyConfig, model_type: 'toy' })).toThrow(
      UnsupportedModelError,
    );
  });

  for (const spec of ARCHITECTURES) {
    it(`${spec.id}: its tiny config parses into what its flags say`, () => {
      const d = parseModelConfig({ ...spec.tinyConfig, use_sliding_window: true });
      expect(d.arch).toBe(spec.id);
      expect(d.normPlusOne).toBe(spec.gemmaNorms);
      expect(d.embedScale !== 1).toBe(spec.gemmaNorms);
      expect(d.qkNorm).toBe(spec.qkNorm);
      expect(d.sandwichNorms).toBe(spec.sandwichNorms);
      expect(d.fused).toBe(spec.fusedProjections);
      expect(d.qkvBias).toBe(spec.qkvBias === 'unless-disabled');
      const windowed = d.windowPerLayer.map((w) => w !== null);
      const window = (spec.tinyConfig as { sliding_window?: number }).sliding_window;
      if (window === undefined || spec.slidingWindow === 'never') expect(windowed.some(Boolean)).toBe(false);
      else if (spec.slidingWindow === 'even-layers') expect(windowed).toEqual(windowed.map((_, i) => i % 2 === 0));
      else expect(windowed.every(Boolean)).toBe(true);
      expect(ggufArchName(spec.id)).toBe(spec.ggufArch);
      expect(ggufArchitecture(spec.ggufArch)?.ggufPermutesQk).toBe(spec.ggufPermutesQk);
      expect(spec.hfClasses.length).toBeGreaterThan(0);
    });

    it(`${spec.id}: every tensor of its tiny model round-trips through its GGUF names`, () => {
      const d = parseModelConfig({ ...spec.tinyConfig, attention_bias: true });
      const names = expectedTensors(d).map((t) => t.name);
      expect(names.length).toBeGreaterThan(5);
      for (const arch of [spec.ggufArch, ...spec.ggufAliases, spec.id]) {
        const ggufNames = new Set<string>();
        for (const hf of names) {
          const g = hfToGgufName(hf, arch);
          expect(g, `${arch}: ${hf}`).not.toBeNull();
          expect(ggufToHfName(g!, arch), `${arch}: ${g}`).toBe(hf);
          ggufNames.add(g!);
          const map = ggufTensorMapping(g!, { arch, heads: d.heads, kvHeads: d.kvHeads });
          const qk = /\.attn_([qk])\.(weight|bias)$/.exec(g!);
          const heads = qk && spec.ggufPermutesQk ? (qk[1] === 'q' ? d.heads : d.kvHeads) : null;
          expect(map, g!).toEqual({
            ggufName: g,
            hfName: hf,
            unpermuteHeads: heads,
            normShift: spec.gemmaNorms && hf.endsWith('norm.weight') ? 1 : 0,
          });
        }
        expect(ggufNames.size, `${arch}: two HF tensors share a GGUF name`).toBe(names.length);
      }
    });
  }

  it('every catalog model is a registered family, and the catalog covers all but at most one', () => {
    for (const entry of CATALOG) {
      const spec = ARCHITECTURES.find((a) => a.id === entry.config.arch);
      expect(spec, entry.repo).toBeDefined();
    }
    expect(new Set(CATALOG.map((e) => e.config.arch)).size).toBeGreaterThanOrEqual(ARCHITECTURES.length - 1);
  });
});
