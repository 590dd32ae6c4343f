/**
 * The float64 reference model's gradients (loss over masked tokens → base weights and LoRA A/B) against central
 * finite differences, for every architecture. This is what makes the reference trustworthy as the GPU engine's oracle.
 */
import { describe, expect, it } from 'vitest';
import { parseModelConfig } from '../../src/model/config.ts';
import { LORA_TARGETS } from '../../src/model/allocations.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededRng } from '../harness/rng.ts';
import { randomLora, randomWeights } from '../reference/model/random.ts';
import { Tape, type Tensor } from '../reference/model/tape.ts';
import { TINY_CONFIGS } from '../reference/model/tiny-configs.ts';
import { refInvFreq, refLoss } from '../reference/model/transformer.ts';

function lossOf(run: () => Tensor): number {
  return run().data[0]!;
}

describe('reference model gradients match finite differences', () => {
  for (const [name, config] of Object.entries(TINY_CONFIGS)) {
    it(name, () => {
      const d = parseModelConfig(config);
      const rng = seededRng(`reference model ${name}`);
      const weights = randomWeights(d, rng);
      const lora = randomLora(d, rng, 3, 6, LORA_TARGETS, weights);
      const ids = Array.from({ length: 7 }, () => rng.int(0, d.vocab));
      const mask = [0, 0, 1, 1, 0, 1, 1];
      const run = () => refLoss(new Tape(), d, weights, ids, mask, { lora });

      const tape = new Tape();
      const loss = refLoss(tape, d, weights, ids, mask, { lora });
      expect(Number.isFinite(loss.data[0])).toBe(true);
      tape.backward(loss);

      // Probe a few entries of every LoRA matrix and of every kind of base tensor.
      const probes: [string, Tensor][] = [];
      for (const [path, ad] of lora.modules) probes.push([`${path}.lora_A`, ad.A], [`${path}.lora_B`, ad.B]);
      for (const [n, t] of weights) if (/layers\.1\.|embed|model\.norm|lm_head/.test(n)) probes.push([n, t]);
      const h = 1e-5;
      let checked = 0;
      for (const [label, t] of probes) {
        for (let j = 0; j < 2; j++) {
          const i = rng.int(0, t.size);
          const keep = t.data[i]!;
          t.data[i] = keep + h;
          const up = lossOf(run);
          t.data[i] = keep - h;
          const down = lossOf(run);
          t.data[i] = keep;
          const fd = (up - down) / (2 * h);
          const an = t.grad?.[i] ?? 0;
          expect(Math.abs(fd - an), `${label}[${i}] fd ${fd} analytic ${an}`).toBeLessThanOrEqual(
            1e-6 + 1e-5 * Math.abs(fd),
          );
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(20);
    });
  }
});

describe('reference RoPE frequencies', () => {
  it('apply llama3 scaling by wavelength bands', () => {
    const config = JSON.parse(
      readFileSync(join(__dirname, '..', '..', 'src', 'model', 'catalog', 'Llama-3.2-1B-Instruct.json'), 'utf8'),
    );
    const a = refInvFreq(parseModelConfig(config));
    const b = refInvFreq(parseModelConfig({ ...config, rope_scaling: null }));
    expect(a).toHaveLength(32);
    // Short wavelengths (< 8192/4) unchanged, long ones (> 8192/1) divided by 32, the band between interpolated.
    const wavelen = b.map((f) => (2 * Math.PI) / f);
    wavelen.forEach((wl, i) => {
      if (wl < 2048) expect(a[i]).toBe(b[i]);
      else if (wl > 8192) expect(a[i]! / b[i]!).toBeCloseTo(1 / 32, 12);
      else {
        expect(a[i]!).toBeLessThan(b[i]!);
        expect(a[i]!).toBeGreaterThan(b[i]! / 32);
      }
    });
    expect(wavelen.some((wl) => wl > 2048 && wl < 8192)).toBe(true);
  });
});
