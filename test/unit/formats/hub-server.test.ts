import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Rng } from '../../harness/rng.ts';
import { type Hub, startHub } from '../../fixtures/hub-server.ts';
import { parseRange } from '../../fixtures/hub-range.ts';

let root: string;
let hub: Hub;
const weights = new Uint8Array(300_000);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const url = (file: string, revision = 'main') => `${hub.baseUrl}/tiny/model/resolve/${revision}/${file}`;

beforeAll(async () => {
  const rng = new Rng(99);
  for (let i = 0; i < weights.length; i++) weights[i] = rng.int(0, 256);
  root = await mkdtemp(join(tmpdir(), 'hub-'));
  await mkdir(join(root, 'tiny', 'model', 'sub'), { recursive: true });
  await writeFile(join(root, 'tiny', 'model', 'model.safetensors'), weights);
  await writeFile(join(root, 'tiny', 'model', 'config.json'), '{"model_type":"llama"}');
  await writeFile(join(root, 'tiny', 'model', 'sub', 'chat_template.jinja'), '{{ x }}');
  await writeFile(join(root, 'secret.txt'), 'outside every repo');
  hub = await startHub(root);
});

afterAll(async () => {
  await hub.close();
  await rm(root, { recursive: true, force: true });
});

beforeEach(() => {
  hub.setHooks({ throttleBytesPerSec: null, cutAfterBytes: null, redirectResolve: false });
  hub.stats.reset();
});

describe('test Hub server', () => {
  it('listens on loopback only', () => {
    expect(hub.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('serves a full GET with Hub headers, CORS and CORP', async () => {
    const res = await fetch(url('model.safetensors'));
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(weights);
    expect(res.headers.get('content-length')).toBe(String(weights.length));
    expect(res.headers.get('etag')).toBe(`"${sha256(weights)}"`);
    expect(res.headers.get('x-repo-commit')).toMatch(/^[0-9a-f]{40}$/);
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-expose-headers')).toMatch(/Content-Range/);
    expect(res.headers.get('access-control-expose-headers')).toMatch(/ETag/);
    expect(res.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    const nested = await fetch(url('sub/chat_template.jinja'));
    expect(await nested.text()).toBe('{{ x }}');
    const pinned = await fetch(url('config.json', 'a'.repeat(40)));
    expect(pinned.headers.get('x-repo-commit')).toBe('a'.repeat(40));
  });

  it('answers Range requests with 206 and Content-Range', async () => {
    for (const [range, start, end] of [
      ['bytes=10-19', 10, 19],
      ['bytes=299990-', 299990, 299999],
      ['bytes=-5', 299995, 299999],
      ['bytes=299000-999999', 299000, 299999],
    ] as const) {
      const res = await fetch(url('model.safetensors'), { headers: { Range: range } });
      expect(res.status, range).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/${weights.length}`);
      expect(res.headers.get('content-length')).toBe(String(end - start + 1));
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(weights.subarray(start, end + 1));
    }
  });

  it('answers 416 for a range past the end, and ignores malformed ranges', async () => {
    const res = await fetch(url('model.safetensors'), { headers: { Range: `bytes=${weights.length}-` } });
    expect(res.status).toBe(416);
    expect(res.headers.get('content-range')).toBe(`bytes */${weights.length}`);
    await res.arrayBuffer();
    const ignored = await fetch(url('config.json'), { headers: { Range: 'bytes=5-2' } });
    expect(ignored.status).toBe(200);
    expect(await ignored.text()).toBe('{"model_type":"llama"}');
    expect(parseRange('bytes=0-1,4-5', 10)).toBeNull();
    expect(parseRange('bytes=-0', 10)).toBe('unsatisfiable');
  });

  it('answers HEAD with the headers and no body', async () => {
    const res = await fetch(url('model.safetensors'), { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(weights.length));
    expect(res.headers.get('etag')).toBe(`"${sha256(weights)}"`);
    expect((await res.arrayBuffer()).byteLength).toBe(0);
    expect(hub.stats.requests.at(-1)).toMatchObject({ method: 'HEAD', status: 200, bytes: 0 });
  });

  it('answers CORS preflights allowing Range', async () => {
    const res = await fetch(url('model.safetensors'), {
      method: 'OPTIONS',
      headers: { 'Access-Control-Request-Headers': 'range' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-headers')).toBe('range');
    expect(res.headers.get('access-control-allow-methods')).toMatch(/GET/);
  });

  it('gives Hub-style errors for missing files and repos, and never serves outside the repos', async () => {
    const missing = await fetch(url('nope.bin'));
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-error-code')).toBe('EntryNotFound');
    const noRepo = await fetch(`${hub.baseUrl}/tiny/other/resolve/main/config.json`);
    expect(noRepo.status).toBe(401);
    expect(noRepo.headers.get('x-error-code')).toBe('RepoNotFound');
    for (const path of [
      '/tiny/model/resolve/main/..%2F..%2Fsecret.txt',
      '/tiny/model/resolve/main/%2E%2E/%2E%2E/secret.txt',
      '/tiny/..%2F..%2F/resolve/main/secret.txt',
    ]) {
      const res = await fetch(hub.baseUrl + path);
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(await res.text()).not.toContain('outside every repo');
    }
  });

  it('lists a repo like /api/models (siblings with sizes, LFS sha256)', async () => {
    const res = await fetch(`${hub.baseUrl}/api/models/tiny/model`);
    const body = (await res.json()) as {
      id: string;
      sha: string;
      siblings: { rfilename: string; size: number; lfs?: { sha256: string } }[];
    };
    expect(body.id).toBe('tiny/model');
    expect(body.sha).toBe((await fetch(url('config.json'))).headers.get('x-repo-commit'));
    expect(body.siblings.map((s) => [s.rfilename, s.size])).toEqual([
      ['config.json', 22],
      ['model.safetensors', weights.length],
      ['sub/chat_template.jinja', 7],
    ]);
    expect(body.siblings[1]!.lfs?.sha256).toBe(sha256(weights));
  });

  it('cuts the connection after N bytes, and the download resumes with a Range request', async () => {
    hub.setHooks({ cutAfterBytes: 50_000, cutCount: 1 });
    const res = await fetch(url('model.safetensors'));
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const parts: Uint8Array[] = [];
    let received = 0;
    const failure = await (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return null;
          parts.push(value);
          received += value.byteLength;
        }
      } catch (err) {
        return err;
      }
    })();
    expect(failure).not.toBeNull();
    expect(received).toBe(50_000);
    const rest = await fetch(url('model.safetensors'), { headers: { Range: `bytes=${received}-` } });
    expect(rest.status).toBe(206);
    parts.push(new Uint8Array(await rest.arrayBuffer()));
    const whole = new Uint8Array(weights.length);
    let at = 0;
    for (const p of parts) {
      whole.set(p, at);
      at += p.byteLength;
    }
    expect(at).toBe(weights.length);
    expect(sha256(whole)).toBe(sha256(weights));
    expect(hub.stats.forFile('model.safetensors').map((r) => [r.status, r.range, r.bytes])).toEqual([
      [200, null, 50_000],
      [206, 'bytes=50000-', weights.length - 50_000],
    ]);
  });

  it('throttles to the configured rate', async () => {
    hub.setHooks({ throttleBytesPerSec: 100_000 });
    const began = Date.now();
    const res = await fetch(url('model.safetensors'), { headers: { Range: 'bytes=0-49999' } });
    expect((await res.arrayBuffer()).byteLength).toBe(50_000);
    expect(Date.now() - began).toBeGreaterThanOrEqual(400);
  });

  it('can redirect resolve to a CDN URL like the Hub does for LFS files', async () => {
    hub.setHooks({ redirectResolve: true });
    const res = await fetch(url('model.safetensors'), { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/cdn/tiny/model/main/model.safetensors');
    expect(res.headers.get('x-linked-size')).toBe(String(weights.length));
    const followed = await fetch(url('model.safetensors'), { headers: { Range: 'bytes=0-9' } });
    expect(followed.status).toBe(206);
    expect(new Uint8Array(await followed.arrayBuffer())).toEqual(weights.subarray(0, 10));
  });
});
