/**
 * The page of `npm run bench:onnx` (bench/onnx.ts drives it in Chromium): the same model, as safetensors for the
 * engine and as the ONNX export for onnxruntime-web, and the same batch of B×T tokens; each side runs a full
 * forward pass (all positions' logits, read back to the host) `trials` times after a warm-up, and the median gives
 * forward tokens/s. Both run on this page's WebGPU: the engine on its own device, onnxruntime-web (its WebGPU
 * execution provider) on its own.
 */
import { GpuRuntime } from '../../src/gpu/runtime.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { loadModel } from '../../src/model/loader.ts';
import { ModelEngine } from '../../src/model/model.ts';
import { FilesModelSource } from '../../src/model/source.ts';
import { emptyCache, int64 } from '../../src/worker/onnx-decode.ts';
import { openSession, ort } from '../../src/worker/onnx-runtime.ts';

export interface BenchConfig {
  /** URLs of the model folder's files, by name (config.json, model.safetensors). */
  files: Record<string, string>;
  onnx: string;
  B: number;
  T: number;
  trials: number;
}

export interface SideResult {
  medianMs: number;
  tokensPerSec: number;
}

export interface BenchOutcome {
  adapter: string;
  engine: SideResult;
  ort: SideResult & { ep: string; fallbackReason: string | null };
  /** Largest |engine − onnxruntime-web| over the first trial's logits (they compute the same function). */
  maxAbsDiff: number;
}

declare global {
  interface Window {
    onnxBench: { run(cfg: BenchConfig): Promise<BenchOutcome> };
    onnxBenchReady: boolean;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timed(trials: number, fn: () => Promise<unknown>): Promise<number[]> {
  await fn(); // warm-up: pipelines and shaders compile
  const ms: number[] = [];
  for (let i = 0; i < trials; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return ms;
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function run(cfg: BenchConfig): Promise<BenchOutcome> {
  const { B, T } = cfg;
  const files = new Map<string, Blob>();
  for (const [name, url] of Object.entries(cfg.files))
    files.set(name, new Blob([(await fetchBytes(url)) as Uint8Array<ArrayBuffer>]));
  const desc = parseModelConfig(JSON.parse(await files.get('config.json')!.text()));
  const ids = Array.from({ length: B * T }, (_, i) => (i * 7919 + 13) % desc.vocab);

  // The engine.
  const rt = await GpuRuntime.create(navigator.gpu, { label: 'bench-onnx' });
  const { weights } = await loadModel(rt, new FilesModelSource(files, 'bench'), { quant: 'none', owner: 'bench' });
  const engine = new ModelEngine(rt, weights, B, T, null, 'inference');
  let engineLogits: Float32Array | null = null;
  const engineMs = await timed(cfg.trials, async () => {
    engineLogits = await engine.logits({ ids: Uint32Array.from(ids), B, T });
  });
  engine.destroy();
  rt.memory.destroyOwner('bench');
  const adapter = `${rt.ctx.adapter.vendor} ${rt.ctx.adapter.architecture} ${rt.ctx.adapter.description}`.trim();
  rt.destroy();

  // onnxruntime-web.
  const opened = await openSession('model.onnx', await fetchBytes(cfg.onnx), []);
  const feeds = {
    input_ids: int64(ort.Tensor, ids, [B, T]),
    attention_mask: int64(
      ort.Tensor,
      Array.from({ length: B * T }, () => 1),
      [B, T],
    ),
    position_ids: int64(
      ort.Tensor,
      Array.from({ length: B * T }, (_, i) => i % T),
      [B, T],
    ),
    num_logits_to_keep: int64(ort.Tensor, [0], []),
    ...emptyCache(ort.Tensor, desc, B),
  };
  let ortLogits: Float32Array | null = null;
  const ortMs = await timed(cfg.trials, async () => {
    // Only the logits are fetched (the engine's forward returns no KV cache either).
    const out = await opened.session.run(feeds, ['logits']);
    ortLogits = out.logits!.data as Float32Array;
  });
  await opened.session.release();

  let maxAbsDiff = 0;
  const a = engineLogits! as Float32Array;
  const b = ortLogits! as Float32Array;
  if (a.length !== b.length)
    throw new Error(`logits differ in length: engine ${a.length}, onnxruntime-web ${b.length}`);
  for (let i = 0; i < a.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a[i]! - b[i]!));
  const side = (ms: number[]): SideResult => ({ medianMs: median(ms), tokensPerSec: (B * T * 1000) / median(ms) });
  return {
    adapter,
    engine: side(engineMs),
    ort: { ...side(ortMs), ep: opened.backend.ep, fallbackReason: opened.backend.fallbackReason ?? null },
    maxAbsDiff,
  };
}

window.onnxBench = { run };
window.onnxBenchReady = true;
