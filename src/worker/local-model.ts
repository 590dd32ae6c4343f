/**
 * A model folder from the user's disk (dropped or picked) copied into the browser's model cache as `local/<name>`,
 * revision `main`, in the layout of src/model/download.ts (files under cacheDir, manifest.json written last), so
 * the cached-model list, chat and training find it like a downloaded one, offline.
 *
 * The folder is checked before anything is copied: a supported layout (config.json + safetensors or shards, or one
 * GGUF), a config this app understands, every tensor the architecture needs, and a tokenizer. Only the files the
 * model needs are copied (weights, config, tokenizer and generation files); anything else in the folder is left.
 */
import { ModelLoadError, FilesModelSource, type ModelLayout, detectLayout } from '../model/source.ts';
import { checkTensors, openCheckpoint } from '../model/checkpoint.ts';
import { type CachedModel, type DownloadProgress, cacheDir } from '../model/download.ts';
import { loadTokenizer } from '../data/tokenizer.ts';
import { isQuotaError } from '../storage/quota.ts';
import type { CachedModelInfo, EngineApi, Result } from './contract.ts';
import { forgetChatModel } from './chat.ts';
import { safeName } from './export-files.ts';
import { HintedError, hintedAttempt } from './hinted.ts';
import { opfs } from './runtime.ts';

/** Files besides the weights that a model folder may have and the app uses (as src/model/hub.ts picks them). */
const META_FILES = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'chat_template.jinja',
  'chat_template.json',
];

const DROP_HINT =
  'Drop (or choose) the folder that holds config.json with the .safetensors file(s), or a single .gguf file, plus tokenizer.json.';

function normalize(path: string): string {
  return path.replace(/\\/g, '/').replace(/^\/+/, '').replace(/^\.\//, '');
}

/** Strips folders every path shares ("Qwen2.5-0.5B/config.json" → "config.json"); returns the last one stripped. */
export function stripSharedFolders(paths: string[]): { folder: string | null; names: string[] } {
  let names = paths.map(normalize);
  let folder: string | null = null;
  for (;;) {
    const first = names[0]?.split('/')[0];
    if (first === undefined || !names.every((p) => p.includes('/') && p.split('/')[0] === first))
      return { folder, names };
    folder = first;
    names = names.map((p) => p.slice(first.length + 1));
  }
}

/** The files of a checked layout that go into the cache. */
export function filesToCopy(layout: ModelLayout, present: readonly string[]): string[] {
  const weights =
    layout.kind === 'safetensors'
      ? [layout.file]
      : layout.kind === 'sharded'
        ? ['model.safetensors.index.json', ...layout.index.shards]
        : [layout.file];
  return [...META_FILES.filter((f) => present.includes(f)), ...weights];
}

/** Checks that the files are a model this app can load; throws a HintedError that says what is missing. */
async function checkModel(source: FilesModelSource): Promise<ModelLayout> {
  let layout: ModelLayout;
  try {
    layout = await detectLayout(source);
    const ckpt = await openCheckpoint(source);
    try {
      checkTensors(ckpt);
    } finally {
      await ckpt.close();
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new HintedError(
      message,
      err instanceof ModelLoadError
        ? DROP_HINT
        : 'Use a model of a supported family (Llama, Mistral, Qwen2/3, Gemma, Phi-3) in safetensors or GGUF.',
    );
  }
  if (!source.list().includes('tokenizer.json')) {
    throw new HintedError(
      `${source.name} has model weights but no tokenizer.json: without it the app cannot read your data or chat with the model.`,
      "Add tokenizer.json and tokenizer_config.json from the model's repository to the folder and import it again.",
    );
  }
  try {
    await loadTokenizer((name) => source.readText(name));
  } catch (err) {
    throw new HintedError(
      `${source.name}'s tokenizer cannot be read: ${(err as Error).message}`,
      "Replace tokenizer.json and tokenizer_config.json with the ones from the model's repository.",
    );
  }
  return layout;
}

async function opfsFile(path: string): Promise<FileSystemFileHandle> {
  const parts = path.split('/').filter(Boolean);
  let dir = await navigator.storage.getDirectory();
  for (const p of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(p, { create: true });
  return dir.getFileHandle(parts.at(-1)!, { create: true });
}

async function ensureRoom(bytes: number): Promise<void> {
  const est = await navigator.storage.estimate?.().catch(() => null);
  if (!est?.quota) return;
  const free = est.quota - (est.usage ?? 0);
  if (bytes > free) {
    const gib = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;
    throw new HintedError(
      `The model needs ${gib(bytes)} but this browser lets the page store only ${gib(free)} more.`,
      "Delete models or datasets you no longer need, or free disk space (the browser's storage grows with the free space of the disk).",
    );
  }
}

export async function importLocalModel(
  name: string,
  files: { path: string; file: File }[],
  onProgress: (p: DownloadProgress) => void,
): Promise<Result<CachedModelInfo>> {
  return hintedAttempt(async () => {
    if (files.length === 0) throw new HintedError('No files were given.', DROP_HINT);
    const { folder, names } = stripSharedFolders(files.map((f) => f.path || f.file.name));
    const byName = new Map<string, File>();
    names.forEach((n, i) => byName.set(n, files[i]!.file));
    const modelName = safeName(name || folder || 'model', 'model');
    const source = new FilesModelSource(byName, folder ?? modelName);
    const layout = await checkModel(source);
    const copy = filesToCopy(layout, source.list());
    const total = copy.reduce((s, f) => s + byName.get(f)!.size, 0);
    await ensureRoom(total);

    const ref = { repo: `local/${modelName}`, revision: 'main' };
    const dir = cacheDir(ref);
    const store = opfs();
    // A new import of the same name replaces the old copy (and the chat's loaded copy of it).
    forgetChatModel(ref);
    await store.removeTree(dir);
    const started = performance.now();
    let loaded = 0;
    let lastReport = 0;
    const report = (file: string, fileLoaded: number, fileTotal: number, force: boolean) => {
      const now = performance.now();
      if (!force && now - lastReport < 100) return;
      lastReport = now;
      const seconds = (now - started) / 1000;
      const bps = seconds > 0 ? loaded / seconds : 0;
      void Promise.resolve(
        onProgress({
          file,
          fileLoaded,
          fileTotal,
          loaded,
          total,
          bytesPerSecond: bps,
          etaSeconds: bps > 0 ? (total - loaded) / bps : null,
        }) as unknown,
      ).catch(() => undefined);
    };
    try {
      for (const path of copy) {
        const file = byName.get(path)!;
        const w = await (await opfsFile(`${dir}/${path}`)).createWritable();
        let fileLoaded = 0;
        try {
          const reader = file.stream().getReader();
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            await w.write(value as Uint8Array<ArrayBuffer>);
            fileLoaded += value.byteLength;
            loaded += value.byteLength;
            report(path, fileLoaded, file.size, false);
          }
          await w.close();
        } catch (err) {
          await w.abort().catch(() => undefined);
          throw err;
        }
        report(path, fileLoaded, file.size, true);
      }
    } catch (err) {
      await store.removeTree(dir).catch(() => undefined);
      if (isQuotaError(err))
        throw new HintedError(
          'The browser ran out of storage while copying the model; nothing was kept.',
          'Delete models or datasets you no longer need, then import again.',
        );
      const what =
        (err as { name?: string }).name === 'NotReadableError'
          ? ' (the file changed or was moved while it was read)'
          : '';
      throw new HintedError(
        `Copying the model failed${what}: ${err instanceof Error ? err.message : String(err)}`,
        'Import the folder again.',
      );
    }
    const manifest: CachedModel = {
      repo: ref.repo,
      revision: ref.revision,
      files: copy.map((p) => ({ path: p, size: byName.get(p)!.size, sha256: null })),
      completedAt: new Date().toISOString(),
    };
    await store.writeText(`${dir}/manifest.json`, JSON.stringify(manifest, null, 2));
    return {
      repo: ref.repo,
      revision: ref.revision,
      bytes: total,
      files: copy.length,
      completedAt: manifest.completedAt,
    };
  }, 'Import the folder again; if it repeats, report this message.');
}

export const localModelApi: Pick<EngineApi, 'importLocalModel'> = { importLocalModel };
