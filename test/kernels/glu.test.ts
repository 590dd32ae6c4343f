import { describe, it } from 'vitest';
import {
  type GluActivation,
  gluBackward,
  gluBackwardFused,
  gluForward,
  gluForwardFused,
} from '../../src/kernels/glu.ts';
import { expectClose } from '../harness/allclose.ts';
import { testRuntime } from '../harness/device.ts';
import { poisonedF32 } from '../harness/poison.ts';
import { seededRng } from '../harness/rng.ts';
import { raggedShapes, raggedSize } from '../harness/shapes.ts';
import { TOLERANCES } from '../harness/tolerances.ts';
import { gluBackwardRef, gluForwardRef, joinFused } from '../reference/glu.ts';

const SHAPES: [number, number][] = [
  [1, 1],
  [3, 77],
  [37, 129],
  [5, 1000],
  ...raggedShapes('glu', 1, (r): [number, number] => [raggedSize(r, 1, 60), raggedSize(r, 1, 600)]),
];

describe('glu (shaders/glu.wgsl)', () => {
  for (const act of ['silu', 'gelu_tanh'] as GluActivation[]) {
    for (const [N, I] of SHAPES) {
      it(`${act}: forward and backward, separate and fused [N, 2I] layouts, N=${N} I=${I}`, async () => {
        const rt = await testRuntime();
        const rng = seededRng(`glu ${act} ${N}x${I}`);
        const gate = rng.f32(N * I, -6, 6);
        // A few large gates check the clamped tanh / overflowing exp paths.
        if (N * I > 4) [gate[0], gate[1]] = [40, -95];
        const up = rng.f32(N * I, -2, 2);
        const dout = rng.f32(N * I);
        const gateUp = new Float32Array(joinFused(gate, up, N, I));
        const gb = rt.uploadF32('test', 'gate', gate);
        const ub = rt.uploadF32('test', 'up', up);
        const db = rt.uploadF32('test', 'dout', dout);
        const gub = rt.uploadF32('test', 'gate_up', gateUp);
        const out = poisonedF32(rt, 'out', N * I);
        const outF = poisonedF32(rt, 'out-fused', N * I);
        const dgate = poisonedF32(rt, 'dgate', N * I);
        const dup = poisonedF32(rt, 'dup', N * I);
        const dgu = poisonedF32(rt, 'dgate_up', N * 2 * I);
        const s = { N, I, act };
        const rec = rt.recorder('glu');
        await gluForward(rt, rec, { ...s, gate: gb, up: ub, out });
        await gluForwardFused(rt, rec, { ...s, gateUp: gub, out: outF });
        await gluBackward(rt, rec, { ...s, gate: gb, up: ub, dout: db, dgate, dup });
        await gluBackwardFused(rt, rec, { ...s, gateUp: gub, dout: db, dgateUp: dgu });
        await rec.submit();
        const f = gluForwardRef(act, gate, up);
        const b = gluBackwardRef(act, gate, up, dout);
        expectClose('out', await rt.readF32(out), f, TOLERANCES.glu_f32);
        expectClose('out (fused input)', await rt.readF32(outF), f, TOLERANCES.glu_f32);
        expectClose('dgate', await rt.readF32(dgate), b.dgate, TOLERANCES.glu_f32);
        expectClose('dup', await rt.readF32(dup), b.dup, TOLERANCES.glu_f32);
        expectClose('dgate_up (fused)', await rt.readF32(dgu), joinFused(b.dgate, b.dup, N, I), TOLERANCES.glu_f32);
        rt.memory.destroyOwner('test');
        rt.memory.destroyOwner('test-output');
      });
    }
  }
});
