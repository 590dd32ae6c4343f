/**
 * Model management in the engine worker: inspect a Hub repository, download it into the OPFS cache with progress,
 * list and delete cached models. Errors come back as values the UI can show.
 */
import { parameterCount, parseModelConfig } from '../model/config.ts';
import { type DownloadProgress, deleteCachedModel, downloadModel, listCachedModels } from '../model/download.ts';
import { type HubFile, type HubLocation, fileUrl, listFiles, selectModelFiles, validateRepo } from '../model/hub.ts';
import { BUILD_HUB_ORIGINS, checkHubAddress } from '../model/hub-origins.ts';
import { loadNotes } from '../model/load-notes.ts';
import { planMemory } from '../model/plan.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { loadModel } from '../model/loader.ts';
import type { CachedModelInfo, EngineApi, OpenedModel, RepoInfo, Result } from './contract.ts';
import { forgetChatModel } from './chat.ts';
import { cachedModelSource, getRuntime, opfs, toEngineError } from './runtime.ts';

let active: AbortController | undefined;

function fail(err: unknown, hint: string): { ok: false; error: { kind: 'unknown'; message: string; hint: string } } {
  const message = err instanceof Error ? err.message : String(err);
  return { ok: false, error: { kind: 'unknown', message, hint } };
}

/** Lists a repository, picks the files a model needs and reads its config for size and memory estimates. */
export async function inspectRepo(base: string, repoInput: string, revision = 'main'): Promise<Result<RepoInfo>> {
  try {
    const loc: HubLocation = {
      base: checkHubAddress(base, BUILD_HUB_ORIGINS),
      repo: validateRepo(repoInput),
      revision,
    };
    const files = selectModelFiles(await listFiles(loc));
    const configFile = files.find((f) => f.path === 'config.json');
    let summary: RepoInfo['summary'] = null;
    if (configFile) {
      const res = await fetch(fileUrl(loc, 'config.json'));
      if (!res.ok) throw new Error(`config.json could not be read (HTTP ${res.status}).`);
      const desc = parseModelConfig(await res.json());
      const plan = planMemory(desc, { quant: 'nf4', seq: 1024, rank: 16, checkpointing: true });
      summary = { arch: desc.arch, parameters: parameterCount(desc), layers: desc.layers, planBytes: plan.total_bytes };
    }
    return { ok: true, value: { loc, files, bytes: files.reduce((a, f) => a + f.size, 0), summary } };
  } catch (err) {
    return fail(err, 'Check the repository name and the Hub address, then try again.');
  }
}

export async function download(
  loc: HubLocation,
  files: HubFile[],
  onProgress: (p: DownloadProgress) => void,
): Promise<Result<CachedModelInfo>> {
  active?.abort();
  const ctl = new AbortController();
  active = ctl;
  try {
    checkHubAddress(loc.base, BUILD_HUB_ORIGINS);
    const m = await downloadModel(opfs(), loc, files, { signal: ctl.signal, onProgress });
    return {
      ok: true,
      value: {
        repo: m.repo,
        revision: m.revision,
        bytes: m.files.reduce((a, f) => a + f.size, 0),
        files: m.files.length,
        completedAt: m.completedAt,
      },
    };
  } catch (err) {
    const cancelled = (err as Error).name === 'AbortError';
    return fail(
      err,
      cancelled ? 'What was downloaded is kept; press Download to continue.' : 'What was downloaded is kept.',
    );
  } finally {
    if (active === ctl) active = undefined;
  }
}

export function cancelDownload(): void {
  active?.abort();
}

export async function cachedModels(): Promise<Result<CachedModelInfo[]>> {
  try {
    const list = await listCachedModels(opfs());
    return {
      ok: true,
      value: list.map((m) => ({
        repo: m.repo,
        revision: m.revision,
        bytes: m.bytes,
        files: m.files.length,
        completedAt: m.completedAt,
      })),
    };
  } catch (err) {
    return fail(err, 'The browser refused access to its storage; check that this site may store data.');
  }
}

export async function deleteCached(repo: string, revision: string): Promise<Result<null>> {
  try {
    forgetChatModel({ repo, revision });
    await deleteCachedModel(opfs(), { repo, revision });
    return { ok: true, value: null };
  } catch (err) {
    return fail(err, 'Reload the page and try again.');
  }
}

/**
 * Loads a cached model onto the GPU from the browser's cache (works offline) and describes what was loaded.
 * The weights are released again afterwards: training and chat load the model themselves.
 */
export async function openCached(repo: string, revision: string, rt: GpuRuntime): Promise<Result<OpenedModel>> {
  try {
    const source = await cachedModelSource({ repo, revision });
    const owner = `opened/${repo}`;
    const { weights, report } = await loadModel(rt, source, { quant: 'none', owner });
    rt.memory.destroyOwner(owner);
    return {
      ok: true,
      value: {
        arch: weights.desc.arch,
        parameters: parameterCount(weights.desc),
        tokenizer: (await source.readText('tokenizer.json')) !== null,
        tensors: report.tensorsRead,
        gpuBytes: report.gpuBytes,
        ms: report.ms,
        notes: loadNotes(report.kept, report.conversions),
      },
    };
  } catch (err) {
    return fail(err, 'Delete the cached copy and download it again.');
  }
}

export const modelsApi: Pick<
  EngineApi,
  'inspectRepo' | 'download' | 'cancelDownload' | 'cachedModels' | 'deleteCached' | 'openCached'
> = {
  inspectRepo,
  download,
  cancelDownload,
  cachedModels,
  deleteCached,
  async openCached(repo, revision) {
    try {
      return await openCached(repo, revision, await getRuntime());
    } catch (err) {
      return { ok: false, error: toEngineError(err) };
    }
  },
};
