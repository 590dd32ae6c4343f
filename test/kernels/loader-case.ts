/**
 * Shared by the loader tests: the tiny model zoo in a temporary folder, the values a loaded model must hold (the
 * fixture's stored tensors with phi3's fused projections split as the loader splits them), and bitwise comparison.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GpuRuntime } from '../../src/gpu/runtime.ts';
import { type LoadOptions, type LoadedModel, loadModel } from '../../src/model/loader.ts';
import { NodeFolderModelSource } from '../../src/model/source-node.ts';
import { type HostTensor, modelWeightsToHost } from '../../src/model/weights-host.ts';
import { type TinyModel, makeTinyModelZoo } from '../fixtures/make-models.ts';

export interface Zoo {
  root: string;
  models: Map<string, TinyModel>;
  cleanup(): Promise<void>;
}

export async function makeZoo(repos?: string[]): Promise<Zoo> {
  const root = await mkdtemp(join(tmpdir(), 'loader-zoo-'));
  const models = await makeTinyModelZoo(root, repos);
  return { root, models, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** Loads `path` (a folder, or one .gguf file) and reads every weight back as f32. */
export async function loadAndRead(
  rt: GpuRuntime,
  path: string,
  opts: LoadOptions,
): Promise<{ loaded: LoadedModel; host: Map<string, HostTensor> }> {
  const loaded = await loadModel(rt, await NodeFolderModelSource.open(path), opts);
  return { loaded, host: await modelWeightsToHost(rt, loaded.weights) };
}

/** The fixture's tensors under the names the loader produces (phi3 qkv_proj / gate_up_proj split by rows). */
export function expectedTensors(m: TinyModel): Map<string, { shape: number[]; values: Float32Array }> {
  const out = new Map<string, { shape: number[]; values: Float32Array }>();
  const { heads, kvHeads, headDim: D, intermediate: I } = m.dims;
  for (const t of m.tensors) {
    const split = (parts: [string, number][]) => {
      const cols = t.shape[1]!;
      let r0 = 0;
      for (const [name, rows] of parts) {
        out.set(t.name.replace(/[a-z_]+_proj\.weight$/, `${name}.weight`), {
          shape: [rows, cols],
          values: t.values.slice(r0 * cols, (r0 + rows) * cols),
        });
        r0 += rows;
      }
    };
    if (t.name.endsWith('qkv_proj.weight'))
      split([
        ['q_proj', heads * D],
        ['k_proj', kvHeads * D],
        ['v_proj', kvHeads * D],
      ]);
    else if (t.name.endsWith('gate_up_proj.weight'))
      split([
        ['gate_proj', I],
        ['up_proj', I],
      ]);
    else out.set(t.name, { shape: t.shape, values: t.values });
  }
  return out;
}

/** null when a and b are equal bit for bit, else where they first differ. */
export function firstDifference(a: Float32Array, b: Float32Array): string | null {
  if (a.length !== b.length) return `lengths ${a.length} and ${b.length}`;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length; i++) if (ua[i] !== ub[i]) return `[${i}]: ${a[i]} vs ${b[i]}`;
  return null;
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
