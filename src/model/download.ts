/**
 * Resumable downloads of model files into a FileStore, with progress (bytes, rate, ETA), cancel and integrity checks.
 * A file is written to `<name>.partial` and resumed with an HTTP Range request; when complete its size (and sha256
 * when the Hub gives one) is checked before it is renamed into place. A manifest records what is complete, so a
 * cached model loads offline.
 */
import { createSHA256 } from 'hash-wasm';
import type { FileStore } from '../storage/file-store.ts';
import { StorageQuotaError } from '../storage/quota.ts';
import { type HubFile, type HubLocation, fileUrl } from './hub.ts';

export interface DownloadProgress {
  file: string;
  fileLoaded: number;
  fileTotal: number;
  loaded: number;
  total: number;
  bytesPerSecond: number;
  etaSeconds: number | null;
}

export interface CachedModel {
  repo: string;
  revision: string;
  files: HubFile[];
  completedAt: string;
}

export function cacheDir(loc: Pick<HubLocation, 'repo' | 'revision'>): string {
  return `models/${loc.repo.replace('/', '--')}/${loc.revision}`;
}

const MANIFEST = 'manifest.json';

export async function readCachedModel(
  store: FileStore,
  loc: Pick<HubLocation, 'repo' | 'revision'>,
): Promise<CachedModel | null> {
  const text = await store.readText(`${cacheDir(loc)}/${MANIFEST}`);
  if (!text) return null;
  const m = JSON.parse(text) as CachedModel;
  for (const f of m.files) if ((await store.size(`${cacheDir(loc)}/${f.path}`)) !== f.size) return null;
  return m;
}

async function sha256Of(store: FileStore, path: string, size: number): Promise<string> {
  const h = await createSHA256();
  h.init();
  const chunk = 8 << 20;
  for (let off = 0; off < size; off += chunk) h.update(await store.read(path, off, Math.min(chunk, size - off)));
  return h.digest('hex');
}

/** A moving-window rate estimate. */
class Rate {
  private samples: [number, number][] = [];
  add(t: number, loaded: number): number {
    this.samples.push([t, loaded]);
    while (this.samples.length > 2 && t - this.samples[0]![0] > 5000) this.samples.shift();
    const [t0, l0] = this.samples[0]!;
    return t > t0 ? ((loaded - l0) * 1000) / (t - t0) : 0;
  }
}

export interface DownloadOptions {
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  fetchFn?: typeof fetch;
  now?: () => number;
}

/** Downloads `files` of `loc` into `store` (skipping complete ones, resuming partial ones) and writes the manifest. */
export async function downloadModel(
  store: FileStore,
  loc: HubLocation,
  files: HubFile[],
  opts: DownloadOptions = {},
): Promise<CachedModel> {
  const fetchFn = opts.fetchFn ?? fetch;
  const now = opts.now ?? (() => Date.now());
  const dir = cacheDir(loc);
  const total = files.reduce((a, f) => a + f.size, 0);
  let done = 0;
  const rate = new Rate();
  for (const f of files) {
    const final = `${dir}/${f.path}`;
    if ((await store.size(final)) === f.size) {
      done += f.size;
      continue;
    }
    const partial = `${final}.partial`;
    let have = (await store.size(partial)) ?? 0;
    if (have > f.size) {
      await store.remove(partial);
      have = 0;
    }
    if (have < f.size || f.size === 0) {
      const headers: Record<string, string> = have > 0 ? { Range: `bytes=${have}-` } : {};
      let res: Response;
      try {
        res = await fetchFn(fileUrl(loc, f.path), { headers, ...(opts.signal ? { signal: opts.signal } : {}) });
      } catch (err) {
        if ((err as Error).name === 'AbortError') throw err;
        throw new Error(
          `Downloading ${f.path} failed: the connection was lost. Press Download again to resume from ${have} bytes.`,
          { cause: err },
        );
      }
      if (res.status === 200 && have > 0) {
        // The server ignored the range: start the file over.
        await store.remove(partial);
        have = 0;
      } else if (res.status !== 200 && res.status !== 206) {
        throw new Error(`Downloading ${f.path} failed: HTTP ${res.status}.`);
      }
      if (!res.body) throw new Error(`Downloading ${f.path} failed: empty response.`);
      const reader = res.body.getReader();
      try {
        for (;;) {
          const { done: end, value } = await reader.read();
          if (end) break;
          await store.append(partial, value); // a full quota arrives as StorageQuotaError (the store words it)
          have += value.byteLength;
          const loaded = done + have;
          const bps = rate.add(now(), loaded);
          opts.onProgress?.({
            file: f.path,
            fileLoaded: have,
            fileTotal: f.size,
            loaded,
            total,
            bytesPerSecond: bps,
            etaSeconds: bps > 0 ? (total - loaded) / bps : null,
          });
        }
      } catch (err) {
        if ((err as Error).name === 'AbortError' || opts.signal?.aborted)
          throw Object.assign(new Error('Download cancelled; press Download to resume.'), { name: 'AbortError' });
        if (err instanceof StorageQuotaError) throw err;
        throw new Error(
          `Downloading ${f.path} was interrupted at ${have} of ${f.size} bytes. Press Download again to resume.`,
          { cause: err },
        );
      }
    }
    if (have !== f.size)
      throw new Error(`Downloading ${f.path} ended at ${have} of ${f.size} bytes. Press Download again to resume.`);
    if (f.sha256) {
      const got = await sha256Of(store, partial, f.size);
      if (got !== f.sha256) {
        await store.remove(partial);
        throw new Error(
          `${f.path} arrived corrupted (sha256 ${got.slice(0, 12)}… instead of ${f.sha256.slice(0, 12)}…); it was removed. Download again.`,
        );
      }
    }
    await store.rename(partial, final);
    done += f.size;
  }
  const manifest: CachedModel = {
    repo: loc.repo,
    revision: loc.revision,
    files,
    completedAt: new Date(now()).toISOString(),
  };
  await store.writeText(`${dir}/${MANIFEST}`, JSON.stringify(manifest, null, 2));
  return manifest;
}

/** Every complete model in the cache, with its size. */
export async function listCachedModels(store: FileStore): Promise<(CachedModel & { bytes: number })[]> {
  const out: (CachedModel & { bytes: number })[] = [];
  for (const repoDir of await store.list('models')) {
    for (const revision of await store.list(`models/${repoDir}`)) {
      const m = await readCachedModel(store, { repo: repoDir.replace('--', '/'), revision });
      if (m) out.push({ ...m, bytes: m.files.reduce((a, f) => a + f.size, 0) });
    }
  }
  return out;
}

export async function deleteCachedModel(store: FileStore, loc: Pick<HubLocation, 'repo' | 'revision'>): Promise<void> {
  await store.removeTree(cacheDir(loc));
}
