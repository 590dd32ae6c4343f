/**
 * The training session the worker and the CLI share: a run that pauses, is stopped at step k (checkpoint saved on the
 * stop) and is continued by a fresh session from that checkpoint gives the same losses and adapters as one
 * uninterrupted run; checkpoints come at the configured moments; the checkpoint exports without the GPU to the same
 * PEFT tensors as the live adapters; an adapter brought back as PEFT files (trained elsewhere) is trained on from
 * its own weights.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importDataset } from '../../src/data/import.ts';
import { filesFromPaths } from '../../src/data/node-files.ts';
import type { GpuRuntime } from '../../src/gpu/runtime.ts';
import { NodeFolderModelSource } from '../../src/model/source-node.ts';
import { trainConfig } from '../../src/schema/train.ts';
import { MemoryByteSource } from '../../src/formats/byte-source.ts';
import { loraFromPeft } from '../../src/model/lora-peft.ts';
import { adapterFromCheckpoint, adapterFromLora } from '../../src/train/adapter.ts';
import { exportPeft } from '../../src/train/export.ts';
import { peftAsCheckpoint } from '../../src/train/scale-out/import-back.ts';
import { asPeftAdapter } from '../../src/worker/chat.ts';
import { RunControl } from '../../src/train/control.ts';
import { TrainingSession } from '../../src/train/session.ts';
import type { RunMetric } from '../../src/worker/contract-runs.ts';
import { makeTinyModel } from '../fixtures/make-models.ts';
import { testRuntime } from '../harness/device.ts';

let root: string;
let rt: GpuRuntime;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'session-'));
  await makeTinyModel('llama', join(root, 'model'), {});
  rt = await testRuntime();
});
afterAll(async () => {
  rt?.destroy();
  await rm(root, { recursive: true, force: true });
});

const config = trainConfig('dot-qlora', {
  steps: 5,
  microBatch: 1,
  gradAccum: 2,
  base: 'none',
  maxLength: 256,
  evalEvery: 2,
  saveEvery: 3,
  seed: 3,
  lora: { dropout: 0.1 },
});

async function open(
  owner: string,
  extra: Partial<Pick<Parameters<typeof TrainingSession.open>[0], 'adapter' | 'config'>> = {},
): Promise<TrainingSession> {
  const source = await NodeFolderModelSource.open(join(root, 'model'));
  const imported = await importDataset(
    await filesFromPaths([join(__dirname, '..', 'fixtures', 'datasets', 'chatml_presplit')]),
    { maxLength: 256 },
    {},
  );
  return TrainingSession.open({
    rt,
    source,
    modelName: 'tiny/llama',
    records: imported.records,
    settings: imported.settings,
    config,
    owner,
    ...extra,
  });
}

async function params(s: TrainingSession): Promise<Float32Array[]> {
  const out = [];
  for (const slot of s.trainer.optimizer.state) out.push(await rt.readF32(slot.param, slot.count));
  return out;
}

describe('training session', () => {
  it('pause, stop at step 2 and resume in a fresh session equal the uninterrupted run; checkpoints at the right steps', async () => {
    const full = await open('full');
    const fullLosses: number[] = [];
    const fullVal: number[] = [];
    const saves: { step: number; valLoss: number | null }[] = [];
    let last: Uint8Array | null = null;
    expect(
      await full.run({
        onMetric: (m: RunMetric) => {
          if (m.kind === 'step') fullLosses.push(m.loss);
          if (m.kind === 'eval') fullVal.push(m.valLoss);
        },
        onCheckpoint: (bytes, step, valLoss) => {
          saves.push({ step, valLoss });
          last = bytes;
        },
      }),
    ).toBe('done');
    expect(fullLosses).toHaveLength(5);
    // Saved at each evaluation (2, 4: with their validation loss), every 3 steps, and at the end.
    expect(saves.map((s) => s.step)).toEqual([2, 3, 4, 5]);
    expect(saves[0]!.valLoss).toBe(fullVal[0]);
    expect(saves[1]!.valLoss).toBeNull();
    const fullParams = await params(full);

    // The final checkpoint exports, without the GPU, exactly the live adapters.
    const live = await adapterFromLora(rt, full.lora, config.lora.dropout, 'tiny/llama');
    const saved = await adapterFromCheckpoint(last!);
    expect(saved.modules.map((m) => m.path)).toEqual(live.modules.map((m) => m.path));
    for (const [i, m] of saved.modules.entries()) {
      expect(m.A).toEqual(live.modules[i]!.A);
      expect(m.B).toEqual(live.modules[i]!.B);
    }
    expect({ ...saved, modules: [] }).toEqual({ ...live, modules: [] });
    full.destroy();

    // Interrupted: paused after step 1 (a checkpoint is saved), resumed, stopped after step 2.
    const control = new RunControl();
    const first = await open('first');
    const losses: number[] = [];
    let stopBytes: Uint8Array | null = null;
    const phases: string[] = [];
    const ended = await first.run({
      control,
      onPhase: (p) => {
        phases.push(p);
        if (p === 'paused') setTimeout(() => control.resume(), 20);
      },
      onMetric: (m) => {
        if (m.kind !== 'step') return;
        losses.push(m.loss);
        if (m.step === 1) control.pause();
        if (m.step === 2) control.stop();
      },
      onCheckpoint: (bytes, step) => {
        if (step === 2) stopBytes = bytes;
      },
    });
    expect(ended).toBe('stopped');
    expect(phases).toContain('paused');
    first.destroy();

    const second = await open('second');
    const state = await second.restore(stopBytes!);
    expect(state.step).toBe(2);
    expect(await second.run({ onMetric: (m) => void (m.kind === 'step' && losses.push(m.loss)) })).toBe('done');
    expect(losses).toEqual(fullLosses);
    const resumed = await params(second);
    for (const [i, p] of resumed.entries()) expect(p).toEqual(fullParams[i]);
    second.destroy();
  });

  it('continues training an imported PEFT adapter from its own weights', async () => {
    const short = { ...config, steps: 2, evalEvery: 0, saveEvery: 0 };
    // An adapter trained elsewhere: two steps here, written out as PEFT files, brought back as a user imports one.
    const src = await open('imported-src', { config: short });
    expect(await src.run({ onMetric: () => {} })).toBe('done');
    const trained = await params(src);
    const files = await exportPeft(rt, src.lora, {
      baseModel: 'tiny/llama',
      data: 'test',
      config: short,
      steps: 2,
      finalLoss: null,
      finalValLoss: null,
    });
    src.destroy();
    const file = (n: string) => files.find((f) => f.name === n)!.bytes;
    const imported = await peftAsCheckpoint(
      new TextDecoder().decode(file('adapter_config.json')),
      new MemoryByteSource(file('adapter_model.safetensors')),
      { baseModel: 'tiny/llama', modelLayers: null },
    );
    const start = asPeftAdapter(await adapterFromCheckpoint(imported.bytes));
    expect(imported.config.lora).toMatchObject({ rank: config.lora.rank, alpha: config.lora.alpha });

    const runFrom = async (owner: string, adapter: boolean) => {
      const s = await open(owner, {
        config: { ...short, lora: imported.config.lora },
        ...(adapter ? { adapter: async (r, d) => loraFromPeft(r, d, start, `${owner}/lora`) } : {}),
      });
      const before = await params(s);
      const losses: number[] = [];
      expect(await s.run({ onMetric: (m) => void (m.kind === 'step' && losses.push(m.loss)) })).toBe('done');
      const after = await params(s);
      s.destroy();
      return { before, after, losses };
    };
    const continued = await runFrom('imported-continued', true);
    // It starts from exactly the imported weights (f32 all the way), and training moves them.
    expect(continued.before).toEqual(trained);
    expect(continued.after).not.toEqual(continued.before);
    expect(continued.losses.every(Number.isFinite)).toBe(true);
    // A fresh adapter (B = 0) on the same first batch gives the base model's loss; the imported one does not.
    const fresh = await runFrom('imported-fresh', false);
    expect(fresh.before).not.toEqual(trained);
    expect(continued.losses[0]).not.toBe(fresh.losses[0]);
  });
});
