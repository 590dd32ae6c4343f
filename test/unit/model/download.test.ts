/** Model download against the local Hub-like server: listing, selection, progress, cut-off and resume, integrity, offline cache. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DownloadProgress,
  cacheDir,
  deleteCachedModel,
  downloadModel,
  listCachedModels,
  readCachedModel,
} from '../../../src/model/download.ts';
import { type HubLocation, listFiles, selectModelFiles, validateRepo } from '../../../src/model/hub.ts';
import { NodeFileStore } from '../../../src/storage/fs-store-node.ts';
import { type Hub, startHub } from '../../fixtures/hub-server.ts';
import { makeTinyModelZoo } from '../../fixtures/make-models.ts';

let root: string;
let hub: Hub;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'hub-'));
  await makeTinyModelZoo(join(root, 'repos'), ['tiny/llama', 'tiny/qwen3']);
  hub = await startHub(join(root, 'repos'));
});
afterAll(async () => {
  await hub?.close();
  await rm(root, { recursive: true, force: true });
});

async function freshStore(): Promise<NodeFileStore> {
  return new NodeFileStore(await mkdtemp(join(root, 'cache-')));
}

describe('model download from a Hub', () => {
  it('selects config, tokenizer and safetensors (or the shards with their index)', async () => {
    const single = selectModelFiles(await listFiles({ base: hub.baseUrl, repo: 'tiny/llama', revision: 'main' }));
    expect(single.map((f) => f.path)).toEqual(
      expect.arrayContaining(['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']),
    );
    expect(single.some((f) => f.path.endsWith('.gguf'))).toBe(false);
    const sharded = selectModelFiles(await listFiles({ base: hub.baseUrl, repo: 'tiny/qwen3', revision: 'main' }));
    expect(sharded.map((f) => f.path)).toContain('model.safetensors.index.json');
    expect(sharded.filter((f) => /model-\d+-of-\d+\.safetensors/.test(f.path)).length).toBeGreaterThan(1);
    const gguf = selectModelFiles(await listFiles({ base: hub.baseUrl, repo: 'tiny/llama', revision: 'main' }), {
      gguf: 'tiny-llama-q8_0.gguf',
    });
    expect(gguf.at(-1)!.path).toBe('tiny-llama-q8_0.gguf');
  });

  it('downloads with progress, byte-identical, and reads the cache back without the network', async () => {
    const store = await freshStore();
    const loc: HubLocation = { base: hub.baseUrl, repo: 'tiny/llama', revision: 'main' };
    const files = selectModelFiles(await listFiles(loc));
    const events: DownloadProgress[] = [];
    await downloadModel(store, loc, files, { onProgress: (p) => events.push(p) });
    const total = files.reduce((a, f) => a + f.size, 0);
    expect(events.at(-1)!.loaded).toBe(total);
    for (let i = 1; i < events.length; i++) expect(events[i]!.loaded).toBeGreaterThanOrEqual(events[i - 1]!.loaded);
    for (const f of files) {
      const got = await readFile(join(store.root, cacheDir(loc), f.path));
      expect(got.equals(await readFile(join(root, 'repos', 'tiny/llama', f.path))), f.path).toBe(true);
    }
    expect((await readCachedModel(store, loc))?.files.length).toBe(files.length);
    expect((await listCachedModels(store)).map((m) => m.repo)).toEqual(['tiny/llama']);
    await deleteCachedModel(store, loc);
    expect(await listCachedModels(store)).toEqual([]);
  });

  it('resumes a cut-off download with a Range request and fetches no byte twice', async () => {
    const store = await freshStore();
    const loc: HubLocation = { base: hub.baseUrl, repo: 'tiny/llama', revision: 'main' };
    const files = selectModelFiles(await listFiles(loc)).filter((f) => f.path === 'model.safetensors');
    const size = files[0]!.size;
    hub.stats.reset();
    hub.setHooks({ cutAfterBytes: Math.floor(size / 2), cutCount: 1 });
    await expect(downloadModel(store, loc, files)).rejects.toThrow(/interrupted|resume/i);
    const partial = await store.size(`${cacheDir(loc)}/model.safetensors.partial`);
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(size);
    await downloadModel(store, loc, files);
    const gets = hub.stats.forFile('model.safetensors').filter((r) => r.method === 'GET');
    expect(gets.at(-1)!.range).toBe(`bytes=${partial}-`);
    expect(gets.at(-1)!.status).toBe(206);
    // The resumed request carries exactly the missing bytes (bytes the cut connection lost in flight are not counted as had).
    expect(gets.at(-1)!.bytes).toBe(size - partial!);
    const got = await readFile(join(store.root, cacheDir(loc), 'model.safetensors'));
    expect(got.equals(await readFile(join(root, 'repos', 'tiny/llama', 'model.safetensors')))).toBe(true);
  });

  it('rejects a file whose sha256 does not match and keeps nothing of it', async () => {
    const store = await freshStore();
    const loc: HubLocation = { base: hub.baseUrl, repo: 'tiny/llama', revision: 'main' };
    const files = selectModelFiles(await listFiles(loc)).filter((f) => f.sha256);
    expect(files.length).toBeGreaterThan(0);
    const victim = files[0]!;
    const wrong = { ...victim, sha256: '0'.repeat(64) };
    await expect(downloadModel(store, loc, [wrong])).rejects.toThrow(/corrupted/);
    expect(await store.size(`${cacheDir(loc)}/${victim.path}`)).toBeNull();
    expect(await store.size(`${cacheDir(loc)}/${victim.path}.partial`)).toBeNull();
  });

  it('can be cancelled, and then resumed', async () => {
    const store = await freshStore();
    const loc: HubLocation = { base: hub.baseUrl, repo: 'tiny/llama', revision: 'main' };
    const files = selectModelFiles(await listFiles(loc)).filter((f) => f.path === 'model.safetensors');
    hub.setHooks({ throttleBytesPerSec: 200_000, cutAfterBytes: null });
    const ctl = new AbortController();
    const run = downloadModel(store, loc, files, {
      signal: ctl.signal,
      onProgress: (p) => p.fileLoaded > 20_000 && ctl.abort(),
    });
    await expect(run).rejects.toThrow(/cancel/i);
    hub.setHooks({ throttleBytesPerSec: null });
    await downloadModel(store, loc, files);
    expect(await store.size(`${cacheDir(loc)}/model.safetensors`)).toBe(files[0]!.size);
  });

  it('explains bad repository names and missing repositories', async () => {
    expect(() => validateRepo('not a repo')).toThrow(/owner\/name/);
    expect(validateRepo('https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct')).toBe('Qwen/Qwen2.5-0.5B-Instruct');
    await expect(listFiles({ base: hub.baseUrl, repo: 'tiny/nope', revision: 'main' })).rejects.toThrow(/not found/);
  });
});
