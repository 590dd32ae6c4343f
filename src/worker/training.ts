/**
 * Training in the engine worker: one run at a time, driven by src/train/session.ts (the same code as `cli train`).
 * Everything a reload needs is in IndexedDB: the run (status, step, losses), its metric history and its checkpoints.
 * A run whose row says "running" but that this worker is not running was cut off by a reload or a crash: it shows as
 * "interrupted" and resumes from its newest checkpoint. GPU out-of-memory, device loss and a full storage quota end
 * the run as "failed" with a message and a way out; the checkpoints saved before stay and the run can be resumed.
 */
import { parseModelConfig } from '../model/config.ts';
import { type PresetName, type TrainConfig, type TrainConfigInput, trainConfig } from '../schema/train.ts';
import { newRunProgress } from '../schema/runs.ts';
import { latestCheckpoint, saveCheckpointRow } from '../storage/checkpoints.ts';
import { getDataset, loadRecords } from '../storage/datasets.ts';
import { appendMetric, deleteRun, getRun, listRuns, putRun, runMetrics, trimMetricsAfter } from '../storage/runs.ts';
import { RunControl } from '../train/control.ts';
import { TrainingSession } from '../train/session.ts';
import { type AdapterSettings, type AdapterTensors, adapterFromCheckpoint } from '../train/adapter.ts';
import { readRunState } from '../train/checkpoint.ts';
import { preflight, runPlan } from '../train/preflight.ts';
import { appTargets } from '../train/scale-out/import-back.ts';
import { loraFromPeft } from '../model/lora-peft.ts';
import type { AppDatabase } from '../storage/db.ts';
import type { EngineApi, Result } from './contract.ts';
import type { ModelRef, RunInfo, TrainEvent, TrainRequest } from './contract-runs.ts';
import { asPeftAdapter, releaseModels } from './chat.ts';
import { deleteCopy } from './onnx-copies.ts';
import { attempt, cachedModelSource, claimGpu, failure, getRuntime, workerDb as db } from './runtime.ts';
import { trainingError } from './train-errors.ts';

/** The adapter of run `runId`'s latest checkpoint, to start a new run of `model` from. */
async function startAdapter(
  database: AppDatabase,
  runId: string,
  model: ModelRef,
): Promise<{ adapter: AdapterTensors; settings: AdapterSettings }> {
  const from = await getRun(database, runId);
  if (!from) throw new Error('The run to start from no longer exists; pick another one, or a fresh adapter.');
  if (from.model.repo !== model.repo || from.model.revision !== model.revision)
    throw new Error(
      `The adapter of "${from.name}" belongs to ${from.model.repo}; pick that model to start from it, or a fresh adapter.`,
    );
  const row = await latestCheckpoint(database, runId);
  if (!row) throw new Error(`"${from.name}" has no checkpoint yet; there is no adapter to start from.`);
  const state = await readRunState(row.bytes);
  if (!state.adapter)
    throw new Error(`"${from.name}" was saved by an older version of the app; start a fresh adapter.`);
  return { adapter: await adapterFromCheckpoint(row.bytes), settings: state.adapter };
}

/** The run this worker is training now. */
let active: { id: string; control: RunControl } | null = null;

function resolveConfig(req: TrainRequest): TrainConfig {
  return trainConfig(req.preset, req.config);
}

/** A run as the UI should see it: a "running" row that this worker is not running was interrupted. */
function live(run: RunInfo, heldElsewhere: ReadonlySet<string>): RunInfo {
  return run.status === 'running' && active?.id !== run.id && !heldElsewhere.has(lockName(run.id))
    ? { ...run, status: 'interrupted' }
    : run;
}

/** A run trains under a Web Lock, so another tab of the app sees it is alive and neither resumes nor deletes it. */
const lockName = (runId: string) => `webgpu-lora-run-${runId}`;

async function heldLocks(): Promise<Set<string>> {
  const locks = self.navigator.locks;
  if (!locks) return new Set();
  const q = await locks.query();
  return new Set((q.held ?? []).map((l) => l.name ?? ''));
}

/** Runs `fn` holding the run's lock; refuses when another tab holds it. */
async function underLock(runId: string, fn: () => Promise<Result<RunInfo>>): Promise<Result<RunInfo>> {
  const locks = self.navigator.locks;
  if (!locks) return fn();
  return locks.request(lockName(runId), { ifAvailable: true }, (lock) =>
    lock ? fn() : failure(new Error('This run is training in another tab of this app; watch it there.')),
  );
}

async function execute(run: RunInfo, resume: boolean, onEvent: (e: TrainEvent) => void): Promise<Result<RunInfo>> {
  let release: (() => void) | null = null;
  try {
    release = claimGpu('training');
  } catch (err) {
    return failure(err);
  }
  const control = new RunControl();
  active = { id: run.id, control };
  const database = await db();
  let current: RunInfo = { ...run, status: 'running', error: null, updatedAt: new Date().toISOString() };
  const update = async (patch: Partial<RunInfo>) => {
    current = { ...current, ...patch, updatedAt: new Date().toISOString() };
    await putRun(database, current);
    onEvent({ type: 'run', run: current });
  };
  let session: TrainingSession | null = null;
  try {
    await update({});
    // The model Try it keeps loaded would take GPU memory the run needs.
    releaseModels();
    const rt = await getRuntime();
    const meta = await getDataset(database, run.datasetId);
    if (!meta) throw new Error(`The dataset of this run ("${run.datasetName}") was deleted; import it again to train.`);
    const records = await loadRecords(database, run.datasetId);
    const source = await cachedModelSource(run.model);
    const own = resume ? await latestCheckpoint(database, run.id) : null;
    // A run started from another run's adapter loads it, until it has a checkpoint of its own.
    const start = !own && run.request.startFrom ? await startAdapter(database, run.request.startFrom, run.model) : null;
    session = await TrainingSession.open({
      rt,
      source,
      modelName: run.model.repo,
      records,
      settings: meta.settings,
      config: run.config,
      samples: { count: run.request.samples, maxNewTokens: 48, validator: run.request.validator },
      owner: `run/${run.id}`,
      ...(start
        ? { adapter: async (r, d) => loraFromPeft(r, d, asPeftAdapter(start.adapter), `run/${run.id}/lora`) }
        : {}),
      onPhase: (phase, detail) => onEvent({ type: 'phase', phase, ...(detail ? { detail } : {}) }),
    });
    if (resume) {
      const row = own;
      if (row) {
        onEvent({ type: 'phase', phase: 'restoring', detail: `step ${row.step}` });
        await session.restore(row.bytes);
        await trimMetricsAfter(database, run.id, row.step);
      } else {
        await trimMetricsAfter(database, run.id, 0);
      }
    }
    await update({
      step: session.step,
      totalSteps: session.totalSteps,
      trainExamples: session.train.length,
      validExamples: session.valid.length,
    });
    const ended = await session.run({
      control,
      info: { model: run.model.repo, dataset: run.datasetName },
      onPhase: (phase) => {
        if (phase === 'paused') void update({ status: 'paused' });
        else if (current.status === 'paused') void update({ status: 'running' });
        onEvent({
          type: 'phase',
          phase: phase === 'paused' ? 'training' : phase,
          ...(phase === 'paused' ? { detail: 'paused' } : {}),
        });
      },
      onMetric: async (metric, progress) => {
        await appendMetric(database, run.id, metric);
        onEvent({ type: 'metric', metric, ...progress });
        if (metric.kind === 'step') await update({ step: metric.step, lastLoss: metric.loss });
        if (metric.kind === 'eval' && Number.isFinite(metric.valLoss)) {
          const best = current.bestValLoss === null || metric.valLoss < current.bestValLoss;
          await update({
            lastValLoss: metric.valLoss,
            ...(best ? { bestValLoss: metric.valLoss, bestStep: metric.step } : {}),
          });
        }
      },
      onCheckpoint: async (bytes, step, valLoss) => {
        await saveCheckpointRow(database, { runId: run.id, step, valLoss, bytes });
        onEvent({ type: 'checkpoint', step, bytes: bytes.byteLength });
      },
    });
    await update({ status: ended === 'done' ? 'done' : 'stopped' });
    return { ok: true, value: current };
  } catch (err) {
    const error = trainingError(err);
    await update({ status: 'failed', error }).catch(() => undefined);
    return { ok: false, error };
  } finally {
    session?.destroy();
    if (active?.control === control) active = null;
    release?.();
  }
}

async function startRun(req: TrainRequest, onEvent: (e: TrainEvent) => void): Promise<Result<RunInfo>> {
  let run: RunInfo;
  try {
    const database = await db();
    const meta = await getDataset(database, req.datasetId);
    if (!meta) throw new Error('That dataset is no longer stored; pick another one on the Data page.');
    const config = resolveConfig(req);
    // Starting from another run's adapter: its LoRA settings replace the form's.
    if (req.startFrom) {
      const { settings } = await startAdapter(database, req.startFrom, req.model);
      config.lora = {
        ...config.lora,
        rank: settings.rank,
        alpha: settings.alpha,
        rslora: settings.rslora,
        targets: appTargets(settings.targets),
        layers: settings.layers ?? 'all',
      };
    }
    const now = new Date();
    const stamp = now.toISOString();
    run = {
      id: crypto.randomUUID(),
      name:
        req.name?.trim() ||
        `${req.model.repo.split('/').pop()} · ${meta.name} · ${stamp.slice(0, 16).replace('T', ' ')}`,
      model: req.model,
      datasetId: req.datasetId,
      datasetName: meta.name,
      request: req,
      config,
      status: 'running',
      createdAt: stamp,
      updatedAt: stamp,
      ...newRunProgress(),
    };
    if (active) throw new Error('A run is already training; pause or stop it first.');
    await putRun(database, run);
  } catch (err) {
    return failure(err, 'Check the settings and try again.');
  }
  return underLock(run.id, () => execute(run, false, onEvent));
}

async function resumeRun(runId: string, onEvent: (e: TrainEvent) => void): Promise<Result<RunInfo>> {
  if (active?.id === runId) {
    active.control.resume();
    return failure(new Error('This run is already training in this tab.'));
  }
  const run = await getRun(await db(), runId);
  if (!run) return failure(new Error('That run no longer exists.'));
  if (run.status === 'done') return failure(new Error('This run has finished; start a new run to train further.'));
  return underLock(run.id, () => execute(run, true, onEvent));
}

export const trainingApi: Pick<
  EngineApi,
  | 'listRuns'
  | 'runMetrics'
  | 'startRun'
  | 'resumeRun'
  | 'pauseRun'
  | 'continueRun'
  | 'stopRun'
  | 'deleteRun'
  | 'planRun'
> = {
  listRuns: () =>
    attempt(async () => {
      const held = await heldLocks();
      return (await listRuns(await db())).map((r) => live(r, held));
    }),
  runMetrics: (runId) => attempt(async () => runMetrics(await db(), runId)),
  startRun,
  resumeRun,
  pauseRun: () => active?.control.pause(),
  continueRun: () => active?.control.resume(),
  stopRun: () => active?.control.stop(),
  deleteRun: (runId) =>
    attempt(async () => {
      if (active?.id === runId || (await heldLocks()).has(lockName(runId)))
        throw new Error('Stop this run before deleting it.');
      await deleteRun(await db(), runId);
      // Its ONNX export kept for the Try page goes with it (the storage is the user's; the export itself is not).
      await deleteCopy(runId).catch(() => undefined);
      return null;
    }),
  planRun: (model, config: TrainConfigInput, preset: PresetName | null, data) =>
    attempt(async () => {
      const source = await cachedModelSource(model);
      const text = await source.readText('config.json');
      if (!text) return null;
      const { limits } = (await getRuntime()).device;
      return runPlan(
        preflight({
          config: trainConfig(preset, config),
          model: parseModelConfig(JSON.parse(text)),
          data,
          limits: {
            maxBufferSize: limits.maxBufferSize,
            maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
          },
        }),
      );
    }),
};
