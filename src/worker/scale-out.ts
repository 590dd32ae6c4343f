/**
 * Scale-out in the engine worker. "Scale out" on a run: its dataset (IndexedDB), settings and model id → the folder
 * of src/train/scale-out/ (train.py, accelerate and axolotl configs, the data as the run saw it), written into a
 * subfolder of the folder the user picked or handed back as a zip, like the other exports. "Import a PEFT adapter":
 * adapter_config.json + adapter_model.safetensors (trained there, or anywhere) → a finished run with one checkpoint,
 * which chat, compare, export and "start from this adapter" then use like any run. Neither needs the GPU.
 */
import { transfer } from 'comlink';
import { loadTokenizer } from '../data/tokenizer.ts';
import { MemoryByteSource } from '../formats/byte-source.ts';
import { adapterExportFiles } from '../train/export-formats.ts';
import { peftAsCheckpoint } from '../train/scale-out/import-back.ts';
import { scaleOutFiles } from '../train/scale-out/scale-out.ts';
import { saveCheckpointRow } from '../storage/checkpoints.ts';
import { getDataset, loadRecords } from '../storage/datasets.ts';
import { putRun } from '../storage/runs.ts';
import { newRunProgress } from '../schema/runs.ts';
import type { EngineApi, ExportedFileInfo, ModelRef, Result, RunInfo } from './contract.ts';
import { cachedDescription, cachedSource, writeFolder } from './export.ts';
import { fileInfos, safeName, zipExport } from './export-files.ts';
import { HintedError, hintedAttempt } from './hinted.ts';
import { workerDb } from './runtime.ts';

/** `<run>-scale-out` */
export const scaleOutFolderName = (runName: string) => `${safeName(runName)}-scale-out`;

async function scaleOutRun(
  runId: string,
  dir: FileSystemDirectoryHandle | null,
): Promise<Result<{ files: ExportedFileInfo[]; zip: Uint8Array | null }>> {
  const result = await hintedAttempt(async () => {
    const db = await workerDb();
    const run = await db.get('runs', runId);
    if (!run) throw new HintedError('This run is no longer stored in this browser.', 'Pick another run.');
    const meta = run.datasetId ? await getDataset(db, run.datasetId) : undefined;
    if (!meta)
      throw new HintedError(
        run.datasetId
          ? `The dataset of this run ("${run.datasetName}") was deleted, so its rows cannot be handed over.`
          : 'This run was imported as an adapter: it has no dataset to hand over.',
        'Import the dataset again and start a run with the same settings, then scale that run out.',
      );
    const records = await loadRecords(db, run.datasetId);
    // With the model in the cache, the rows are exactly the run's (folded system turns, too-long rows left out).
    const source = await cachedSource(run.model);
    const tokenizer = source ? await loadTokenizer((name) => source.readText(name)) : null;
    const desc = source ? await cachedDescription(run.model) : null;
    const { files } = scaleOutFiles({
      run: {
        name: run.name,
        model: {
          id: run.model.repo,
          revision: run.model.revision,
          modelType: desc?.arch ?? null,
          layers: desc?.layers ?? null,
        },
        config: run.config,
        settings: meta.settings,
      },
      records,
      tokenizer,
    });
    const folder = scaleOutFolderName(run.name);
    if (dir) {
      const written = await writeFolder(dir, folder, files);
      return { files: fileInfos(written, files), zip: null };
    }
    return { files: fileInfos(folder, files), zip: zipExport(folder, files) };
  }, 'Reload the page and try again; if it repeats, report this message.');
  return result.ok && result.value.zip ? transfer(result, [result.value.zip.buffer]) : result;
}

/** The two files of a PEFT folder, found by name among what the user dropped or picked. */
function peftFilesOf(files: readonly { name: string; bytes: Uint8Array }[]): { config: string; weights: Uint8Array } {
  const find = (name: string) => files.find((f) => f.name.split('/').pop() === name);
  const config = find('adapter_config.json');
  const weights = find('adapter_model.safetensors');
  if (!config || !weights)
    throw new HintedError(
      `A PEFT adapter folder holds adapter_config.json and adapter_model.safetensors; ${!config ? 'adapter_config.json' : 'adapter_model.safetensors'} is missing.`,
      'Pick the folder that train.py (or PeftModel.save_pretrained) wrote, e.g. out/.',
    );
  return { config: new TextDecoder().decode(config.bytes), weights: weights.bytes };
}

async function importPeftAdapter(
  model: ModelRef,
  name: string,
  files: { name: string; bytes: Uint8Array }[],
): Promise<Result<RunInfo>> {
  return hintedAttempt(async () => {
    const { config: configText, weights } = peftFilesOf(files);
    const desc = await cachedDescription(model);
    if (!desc)
      throw new HintedError(
        `${model.repo} is not in this browser's cache, so the adapter cannot be checked against it.`,
        'Download the model (or drop its folder) on the Model page, pick it, and import the adapter again.',
      );
    let imported;
    try {
      imported = await peftAsCheckpoint(configText, new MemoryByteSource(weights), {
        baseModel: model.repo,
        modelLayers: desc.layers,
        info: { model: model.repo, imported: name },
      });
      // The PEFT writer checks every module against the model's shapes (and names), as an export would.
      await adapterExportFiles('peft', imported.adapter, { facts: null, desc, dtype: 'f32' });
    } catch (err) {
      throw new HintedError(
        (err as Error).message,
        `Check that the adapter was trained on ${model.repo} (or pick that model first) and that the folder is a LoRA adapter.`,
      );
    }
    const db = await workerDb();
    const stamp = new Date().toISOString();
    const run: RunInfo = {
      id: crypto.randomUUID(),
      name: name.trim() || `imported adapter · ${stamp.slice(0, 16).replace('T', ' ')}`,
      model,
      datasetId: '',
      datasetName: 'imported PEFT adapter',
      request: { model, datasetId: '', preset: null, config: {}, samples: 0, validator: null },
      config: imported.config,
      status: 'done',
      createdAt: stamp,
      updatedAt: stamp,
      ...newRunProgress(),
    };
    await putRun(db, run);
    await saveCheckpointRow(db, { runId: run.id, step: 0, valLoss: null, bytes: imported.bytes });
    return run;
  }, 'Reload the page and try again; if it repeats, report this message.');
}

export const scaleOutApi: Pick<EngineApi, 'scaleOutRun' | 'importPeftAdapter'> = { scaleOutRun, importPeftAdapter };
