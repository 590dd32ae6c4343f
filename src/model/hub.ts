/**
 * The Hugging Face Hub's HTTP interface as the app uses it: list a repository's files, pick the ones a model needs,
 * and build their download URLs. The base URL is configurable (mirrors, the tests' local Hub).
 */
import { z } from 'zod';

export const DEFAULT_HUB = 'https://huggingface.co';

export interface HubLocation {
  base: string;
  repo: string;
  revision: string;
}

export interface HubFile {
  path: string;
  size: number;
  /** sha256 of the content when the Hub knows it (LFS files). */
  sha256: string | null;
}

const SiblingsSchema = z.object({
  siblings: z.array(
    z.object({
      rfilename: z.string(),
      size: z.number().int().nonnegative().optional(),
      lfs: z.object({ sha256: z.string(), size: z.number().int().nonnegative() }).nullish(),
    }),
  ),
});

export function fileUrl(loc: HubLocation, path: string): string {
  const enc = path.split('/').map(encodeURIComponent).join('/');
  return `${loc.base.replace(/\/+$/, '')}/${loc.repo}/resolve/${encodeURIComponent(loc.revision)}/${enc}`;
}

export function validateRepo(repo: string): string {
  const r = repo.trim().replace(/^https?:\/\/[^/]+\//, '');
  if (!/^[\w.-]+\/[\w.-]+$/.test(r))
    throw new Error(`"${repo}" is not a Hub repository name; write it as owner/name, e.g. Qwen/Qwen2.5-0.5B-Instruct.`);
  return r;
}

/** The repository's files with sizes and, for LFS files, their sha256. */
export async function listFiles(
  loc: HubLocation,
  fetchFn: typeof fetch = fetch,
  signal?: AbortSignal,
): Promise<HubFile[]> {
  const url = `${loc.base.replace(/\/+$/, '')}/api/models/${loc.repo}/revision/${encodeURIComponent(loc.revision)}?blobs=true`;
  let res: Response;
  try {
    res = await fetchFn(url, signal ? { signal } : {});
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new Error(
      `Could not reach ${loc.base} to list ${loc.repo}. Check the connection (or the mirror URL) and try again.`,
      { cause: err },
    );
  }
  if (res.status === 401 || res.status === 403 || res.status === 404) {
    // The Hub answers 401 both for repositories that do not exist and for private ones.
    throw new Error(
      `${loc.repo} (revision ${loc.revision}) was not found on ${loc.base}, or it is private or gated. ` +
        'Check the spelling; for a gated model, accept its license on the model page, or download it elsewhere and drop the folder here.',
    );
  }
  if (!res.ok) throw new Error(`Listing ${loc.repo} failed: HTTP ${res.status}.`);
  const parsed = SiblingsSchema.safeParse(await res.json());
  if (!parsed.success) throw new Error(`The Hub's answer for ${loc.repo} has no file list.`);
  return parsed.data.siblings.map((s) => ({
    path: s.rfilename,
    size: s.lfs?.size ?? s.size ?? 0,
    sha256: s.lfs?.sha256 ?? null,
  }));
}

const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'chat_template.jinja',
  'special_tokens_map.json',
  'generation_config.json',
];

/**
 * The files a model needs: config and tokenizer files, then safetensors weights (single or sharded), or else one
 * GGUF file (the smallest 4-bit one when several quantizations are offered, unless `gguf` names one).
 */
export function selectModelFiles(files: HubFile[], opts: { gguf?: string } = {}): HubFile[] {
  const by = new Map(files.map((f) => [f.path, f]));
  const pick = (names: string[]) => names.map((n) => by.get(n)).filter((f): f is HubFile => Boolean(f));
  const meta = pick(['config.json', ...TOKENIZER_FILES]);
  const safetensors = files.filter((f) => /^model(-\d+-of-\d+)?\.safetensors$/.test(f.path));
  const index = by.get('model.safetensors.index.json');
  if (!opts.gguf && by.has('config.json') && (by.has('model.safetensors') || (index && safetensors.length > 0))) {
    return [...meta, ...(by.has('model.safetensors') ? [by.get('model.safetensors')!] : [index!, ...safetensors])];
  }
  const ggufs = files.filter((f) => f.path.toLowerCase().endsWith('.gguf'));
  if (ggufs.length > 0) {
    const chosen = opts.gguf
      ? ggufs.find((f) => f.path === opts.gguf)
      : (ggufs.find((f) => /q4_0|q4_k_m/i.test(f.path)) ?? [...ggufs].sort((a, b) => a.size - b.size)[0]);
    if (!chosen)
      throw new Error(`${opts.gguf} is not in this repository; it has ${ggufs.map((f) => f.path).join(', ')}.`);
    return [...meta, chosen];
  }
  throw new Error(
    'This repository has no model.safetensors (or shards with an index) next to a config.json, and no .gguf file, so there is nothing to load.',
  );
}
