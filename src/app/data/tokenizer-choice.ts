/**
 * Choosing the tokenizer that token counts use: a model folder picked from disk (its
 * tokenizer.json, tokenizer_config.json and chat template are handed to the worker as Files, which
 * parses them), or a model already downloaded into this browser (read by the worker from OPFS).
 */
import type { DroppedFile } from '../../data/browser-files.ts';
import type { TokenizerSource } from './worker-api.ts';

export const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'chat_template.jinja',
  'chat_template.json',
] as const;

/** The tokenizer files of a picked model folder (the shallowest copy of each), or an explanation. */
export function tokenizerFromFolder(
  files: DroppedFile[],
): { ok: true; source: TokenizerSource } | { ok: false; message: string } {
  const byName: Record<string, Blob> = {};
  const depth: Record<string, number> = {};
  for (const f of files) {
    const parts = f.path.split('/');
    const name = parts[parts.length - 1]!;
    if (!(TOKENIZER_FILES as readonly string[]).includes(name)) continue;
    if (depth[name] === undefined || parts.length < depth[name]) {
      byName[name] = f.blob;
      depth[name] = parts.length;
    }
  }
  const top = files[0]?.path.split('/')[0] ?? 'the folder';
  if (!byName['tokenizer.json']) {
    return {
      ok: false,
      message: `"${top}" has no tokenizer.json. Choose the folder of a downloaded model: it holds tokenizer.json and tokenizer_config.json.`,
    };
  }
  return { ok: true, source: { kind: 'files', label: top, files: byName } };
}

export interface CachedTokenizer {
  label: string;
  dir: string;
}

/** Models downloaded into this browser (OPFS) that carry a tokenizer.json. */
export async function cachedTokenizers(): Promise<CachedTokenizer[]> {
  if (!navigator.storage?.getDirectory) return [];
  try {
    const [{ listCachedModels, cacheDir }, { OpfsStore }] = await Promise.all([
      import('../../model/download.ts'),
      import('../../storage/opfs-store.ts'),
    ]);
    const models = await listCachedModels(new OpfsStore());
    return models
      .filter((m) => m.files.some((f) => f.path === 'tokenizer.json'))
      .map((m) => ({ label: m.repo, dir: cacheDir(m) }));
  } catch {
    // No OPFS here (or it is blocked): only a folder from disk can provide a tokenizer.
    return [];
  }
}
