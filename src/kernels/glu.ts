/**
 * Gated MLP activations (shaders/glu.wgsl): out = act(gate) · up, act = silu (SwiGLU) or gelu_tanh (GeGLU).
 *   gluForward / gluBackward             gate, up, out, dgate, dup: separate [N, I] buffers
 *   gluForwardFused / gluBackwardFused   gate and up read from one [N, 2I] buffer (phi3 gate_up_proj:
 *                                        first half gate, second half up); dgate_up written in that layout
 */
import source from '../../shaders/glu.wgsl';
import type { Recorder } from '../gpu/recorder.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { defineShader } from '../gpu/shader.ts';
import { deviceGrid } from './grid.ts';

export const GLU_SHADER = defineShader('glu', source, { count: 'u32', width: 'u32', act: 'u32' });

export type GluActivation = 'silu' | 'gelu_tanh';

export interface GluShape {
  N: number;
  I: number;
  act: GluActivation;
}

const WG = 256;

async function record(
  rt: GpuRuntime,
  rec: Recorder,
  entryPoint: string,
  s: GluShape,
  buffers: GPUBuffer[],
): Promise<void> {
  const count = s.N * s.I;
  if (count === 0) return;
  const pipeline = await rt.pipelines.get({ shader: GLU_SHADER, entryPoint, constants: { WG } });
  rec.dispatch({
    label: `${entryPoint}(${s.act})`,
    pipeline,
    buffers,
    params: GLU_SHADER.params.pack({ count, width: s.I, act: s.act === 'gelu_tanh' ? 1 : 0 }),
    workgroups: deviceGrid(rt, Math.ceil(count / WG)),
  });
}

/** out[N, I] = act(gate) · up. */
export function gluForward(
  rt: GpuRuntime,
  rec: Recorder,
  a: GluShape & { gate: GPUBuffer; up: GPUBuffer; out: GPUBuffer },
): Promise<void> {
  return record(rt, rec, 'glu_forward', a, [a.gate, a.up, a.out]);
}

/** out[N, I] = act(gate_up[:, :I]) · gate_up[:, I:]. */
export function gluForwardFused(
  rt: GpuRuntime,
  rec: Recorder,
  a: GluShape & { gateUp: GPUBuffer; out: GPUBuffer },
): Promise<void> {
  return record(rt, rec, 'glu_forward_fused', a, [a.gateUp, a.out]);
}

/** dgate[N, I] = dout · up · act'(gate),  dup[N, I] = dout · act(gate). */
export function gluBackward(
  rt: GpuRuntime,
  rec: Recorder,
  a: GluShape & { gate: GPUBuffer; up: GPUBuffer; dout: GPUBuffer; dgate: GPUBuffer; dup: GPUBuffer },
): Promise<void> {
  return record(rt, rec, 'glu_backward', a, [a.gate, a.up, a.dout, a.dgate, a.dup]);
}

/** dgate_up[N, 2I]: gradient of gate in the first half of each row, of up in the second. */
export function gluBackwardFused(
  rt: GpuRuntime,
  rec: Recorder,
  a: GluShape & { gateUp: GPUBuffer; dout: GPUBuffer; dgateUp: GPUBuffer },
): Promise<void> {
  return record(rt, rec, 'glu_backward_fused', a, [a.gateUp, a.dout, a.dgateUp]);
}
