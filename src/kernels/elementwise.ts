/**
 * Element-wise ops over flat f32 buffers (shaders/elementwise.wgsl):
 *   residualForward         y = a + b
 *   residualForwardInplace  a += b
 *   fill                    y = value
 *   scale                   y *= value
 */
import source from '../../shaders/elementwise.wgsl';
import type { Recorder } from '../gpu/recorder.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { defineShader } from '../gpu/shader.ts';
import { linearGrid } from './grid.ts';

export const ELEMENTWISE_SHADER = defineShader('elementwise', source, { count: 'u32', value: 'f32' });

export interface ElementwiseOptions {
  /** Invocations per workgroup (override WG). */
  WG?: number;
  /** Per-dimension workgroup limit used to fold large launches into 2-D (defaults to the device's). */
  maxWorkgroupsPerDim?: number;
}

async function record(
  rt: GpuRuntime,
  rec: Recorder,
  entryPoint: string,
  count: number,
  value: number,
  buffers: GPUBuffer[],
  opts: ElementwiseOptions,
): Promise<void> {
  if (count === 0) return;
  const WG = opts.WG ?? 256;
  const pipeline = await rt.pipelines.get({ shader: ELEMENTWISE_SHADER, entryPoint, constants: { WG } });
  const maxDim = opts.maxWorkgroupsPerDim ?? rt.device.limits.maxComputeWorkgroupsPerDimension;
  rec.dispatch({
    label: entryPoint,
    pipeline,
    buffers,
    params: ELEMENTWISE_SHADER.params.pack({ count, value }),
    workgroups: linearGrid(Math.ceil(count / WG), maxDim),
  });
}

/** y[count] = a[count] + b[count]. */
export function residualForward(
  rt: GpuRuntime,
  rec: Recorder,
  a: { a: GPUBuffer; b: GPUBuffer; y: GPUBuffer; count: number },
  opts: ElementwiseOptions = {},
): Promise<void> {
  return record(rt, rec, 'residual_forward', a.count, 0, [a.a, a.b, a.y], opts);
}

/** a[count] += b[count]. */
export function residualForwardInplace(
  rt: GpuRuntime,
  rec: Recorder,
  a: { a: GPUBuffer; b: GPUBuffer; count: number },
  opts: ElementwiseOptions = {},
): Promise<void> {
  return record(rt, rec, 'residual_forward_inplace', a.count, 0, [a.a, a.b], opts);
}

/** y[count] = value (use value 0 to zero gradient buffers before accumulating into them). */
export function fill(
  rt: GpuRuntime,
  rec: Recorder,
  a: { y: GPUBuffer; count: number; value: number },
  opts: ElementwiseOptions = {},
): Promise<void> {
  return record(rt, rec, 'fill_forward', a.count, a.value, [a.y], opts);
}

/** y[count] *= value. */
export function scale(
  rt: GpuRuntime,
  rec: Recorder,
  a: { y: GPUBuffer; count: number; value: number },
  opts: ElementwiseOptions = {},
): Promise<void> {
  return record(rt, rec, 'scale_forward', a.count, a.value, [a.y], opts);
}
