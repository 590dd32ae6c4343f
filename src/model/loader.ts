/**
 * Loads a model folder (safetensors, sharded safetensors or GGUF; see ./source.ts) onto the GPU as ModelWeights,
 * quantizing on load. Streaming: one tensor is read, converted and uploaded, and its host arrays dropped, before the
 * next is read, so host memory stays near the largest tensor (twice it at most, while a converted copy and the file
 * bytes coexist) rather than the model. Block formats are made on the GPU (src/kernels/quantize.ts) from the
 * uploaded dense tensor, which is then destroyed; GGUF Q8_0 / Q4_0 / K-quant blocks are uploaded as they are when the wanted
 * format is the file's. Formats follow ./host-tensors.ts `chooseFormat`. Norms and biases are f32.
 * Everything is checked against the architecture's tensor list before the first upload; on any failure the
 * buffers already created are destroyed. Every uploaded array (and every quantizer's source) is scanned for NaN /
 * ±Inf on the GPU (src/kernels/nonfinite.ts, one readback at the end): a checkpoint holding any is refused with the
 * tensor named, instead of loading a model whose every logit is NaN. A tensor of 2 GiB or more is refused before
 * it is read (it would be read into host memory whole).
 */
import { permuteQkRowBytes, unpermuteQkRows } from '../formats/gguf-permute.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { NonFiniteScan, type ScanRequest } from '../kernels/nonfinite.ts';
import { type QuantizeOptions, quantizeToNewWeight } from '../kernels/quantize.ts';
import { BLOCK_VALUES, SCALE_BYTES_PER_BLOCK } from '../formats/quant-blocks.ts';
import {
  type BaseWeight,
  destroyWeight,
  isQuantWeight,
  isQuantizerFormat,
  uploadGgufWeight,
  weightArrays,
} from '../kernels/weights.ts';
import { type ConvertFormat, LORA_TARGETS, type LoraTarget, type WeightFormat } from './allocations.ts';
import type { BlockWeights } from './block.ts';
import { type Checkpoint, type CheckpointTensor, type StoredType, checkTensors, openCheckpoint } from './checkpoint.ts';
import {
  HostMeter,
  type TensorRole,
  chooseFormat,
  isDenseFormat,
  rowSlice,
  storedRowBytes,
  storedToF32,
} from './host-tensors.ts';
import { type Conversion, isLossless } from './load-notes.ts';
import { STAGING_OWNER, type SlabContext, quantizeBySlabs, toDenseBySlabs } from './load-slabs.ts';
import type { QuantChoice } from './plan.ts';
import { ModelLoadError, type ModelSource } from './source.ts';
import type { ModelWeights } from './weights-types.ts';

export interface LoadProgress {
  /** HF name of the tensor just loaded. */
  tensor: string;
  done: number;
  total: number;
  bytesRead: number;
  totalBytes: number;
}

export interface LoadOptions {
  quant: QuantChoice;
  /** Format of the embedding table and LM head (default: as stored when quant is 'none', else q8_0). */
  embeddings?: ConvertFormat;
  /** GPU memory owner of the weights (default 'weights'). */
  owner?: string;
  onProgress?: (p: LoadProgress) => void;
  /** Passed to the GPU quantizer (tests force its row-chunked path with a small maxBindingBytes). */
  quantize?: QuantizeOptions;
  /** Most f32 bytes of a tensor converted on the host at once (default 16 MiB; tests use less to get several slabs). */
  slabBytes?: number;
}

export interface LoadReport {
  format: 'safetensors' | 'gguf';
  files: string[];
  /** Tensors read from the file. */
  tensorsRead: number;
  /** GPU weights made (fused phi3 tensors count as their parts; a tied head is not counted twice). */
  weights: number;
  /** GPU bytes per format of the matrices; norms and biases are under 'f32 (norms, biases)'. */
  bytesByFormat: Record<string, number>;
  /** Tensors whose row length does not hold whole blocks of the wanted format, kept dense instead. */
  fallbacks: { tensor: string; wanted: WeightFormat; got: WeightFormat }[];
  /** Matrices (GPU weights) kept in their stored type, by type: nothing converted or re-quantized. */
  kept: Record<string, number>;
  /** Every matrix whose GPU format differs from its stored type, why, and whether precision is lost (./load-notes.ts). */
  conversions: Conversion[];
  /** Tensors in the file the model does not use (e.g. lm_head of a tied checkpoint, GGUF rope_freqs). */
  unused: string[];
  bytesRead: number;
  largestTensorBytes: number;
  /** The loader's own count of the most host bytes it held at once. */
  hostPeakBytes: number;
  /** Node only: process memory before and at its highest between tensors (null in the browser). */
  process: { rssBefore: number; rssPeak: number; arrayBuffersBefore: number; arrayBuffersPeak: number } | null;
  /** Live GPU bytes of the owner after loading. */
  gpuBytes: number;
  ms: number;
}

export interface LoadedModel {
  weights: ModelWeights;
  hostPeakBytes: number;
  report: LoadReport;
}

const NORM_KEY = 'f32 (norms, biases)';
/** Tensors are read whole (then converted in slabs): one this large is refused before reading. */
export const MAX_TENSOR_BYTES = 2 ** 31 - 1;

function processMemory(): { rss: number; arrayBuffers: number } | null {
  const proc = (globalThis as { process?: { memoryUsage?: () => { rss: number; arrayBuffers: number } } }).process;
  return proc?.memoryUsage ? proc.memoryUsage() : null;
}

class Loading {
  readonly meter = new HostMeter();
  readonly created: BaseWeight[] = [];
  readonly buffers: GPUBuffer[] = [];
  readonly scan: NonFiniteScan;
  /** Arrays to scan once everything is uploaded, and the source tensor of each label (for messages). */
  private readonly finals: ScanRequest[] = [];
  private readonly sourceOf = new Map<string, string>();
  readonly report: Omit<LoadReport, 'gpuBytes' | 'ms' | 'hostPeakBytes'>;
  private done = 0;
  private readonly total: number;
  private readonly totalBytes: number;
  private readonly mem0 = processMemory();

  constructor(
    readonly rt: GpuRuntime,
    readonly ckpt: Checkpoint,
    readonly opts: LoadOptions,
    readonly owner: string,
    needed: string[],
  ) {
    const needSet = new Set(needed);
    const unused = [...ckpt.tensors.keys()].filter((n) => !needSet.has(n)).concat(ckpt.unmapped);
    this.total = needed.length;
    this.totalBytes = needed.reduce((s, n) => s + ckpt.tensors.get(n)!.bytes, 0);
    // Per tensor: its final arrays, a quantizer source, and one per host slab (f32 bytes ≤ 8 × stored bytes).
    const slab = opts.slabBytes ?? 16 * 2 ** 20;
    const slots = needed.reduce((s, n) => s + 4 + Math.ceil((8 * ckpt.tensors.get(n)!.bytes) / slab), 0);
    this.scan = new NonFiniteScan(rt, slots);
    this.report = {
      format: ckpt.format,
      files: ckpt.files,
      tensorsRead: 0,
      weights: 0,
      bytesByFormat: {},
      fallbacks: [],
      kept: {},
      conversions: [],
      unused,
      bytesRead: 0,
      largestTensorBytes: 0,
      process: this.mem0
        ? {
            rssBefore: this.mem0.rss,
            rssPeak: this.mem0.rss,
            arrayBuffersBefore: this.mem0.arrayBuffers,
            arrayBuffersPeak: this.mem0.arrayBuffers,
          }
        : null,
    };
  }

  /** Reads one tensor's bytes (counted as held until `finish`). */
  async read(name: string): Promise<{ t: CheckpointTensor; bytes: Uint8Array }> {
    const t = this.ckpt.tensors.get(name)!;
    if (t.bytes > MAX_TENSOR_BYTES)
      throw new ModelLoadError(
        `${t.file}: tensor ${name} is ${t.bytes} bytes; tensors of 2 GiB or more are not loaded (they would be read into memory whole). Use a smaller model or a quantized GGUF of it.`,
      );
    const bytes = this.meter.hold(await t.read());
    this.report.bytesRead += bytes.byteLength;
    this.report.largestTensorBytes = Math.max(this.report.largestTensorBytes, bytes.byteLength);
    this.report.tensorsRead++;
    return { t, bytes };
  }

  /** The tensor's host arrays are dropped: sample process memory, reset the held count, report progress. */
  finish(name: string): void {
    const m = processMemory();
    const p = this.report.process;
    if (m && p) {
      p.rssPeak = Math.max(p.rssPeak, m.rss);
      p.arrayBuffersPeak = Math.max(p.arrayBuffersPeak, m.arrayBuffers);
    }
    this.meter.releaseAll();
    this.done++;
    this.opts.onProgress?.({
      tensor: name,
      done: this.done,
      total: this.total,
      bytesRead: this.report.bytesRead,
      totalBytes: this.totalBytes,
    });
  }

  private count(key: string, bytes: number): void {
    this.report.bytesByFormat[key] = (this.report.bytesByFormat[key] ?? 0) + bytes;
  }

  /** A 1-D tensor (norm or bias) as f32, with GGUF's permutation and norm shift undone. */
  async vector(name: string): Promise<GPUBuffer> {
    const { t, bytes } = await this.read(name);
    const n = t.shape[0]!;
    let values = this.meter.hold(storedToF32(t.stored!, bytes, n));
    if (t.unpermuteHeads !== null) values = this.meter.hold(unpermuteQkRows(values, n, t.unpermuteHeads));
    if (t.normShift !== 0) for (let i = 0; i < n; i++) values[i] = values[i]! - t.normShift;
    const buffer = this.rt.uploadF32(this.owner, name, values);
    this.buffers.push(buffer);
    this.finals.push({ label: name, buffer, type: 'f32', count: n });
    this.sourceOf.set(name, t.file);
    this.count(NORM_KEY, buffer.size);
    this.finish(name);
    return buffer;
  }

  /** A 2-D tensor, split into row blocks `parts` ([label, rows]) for phi3's fused projections (else one part). */
  async matrix(name: string, role: TensorRole, parts?: [string, number][]): Promise<BaseWeight[]> {
    const { t, bytes: raw } = await this.read(name);
    const [rows, cols] = t.shape as [number, number];
    const stored = t.stored!;
    const rowBytes = storedRowBytes(stored, cols);
    const bytes =
      t.unpermuteHeads !== null ? this.meter.hold(permuteQkRowBytes(raw, rows, t.unpermuteHeads, true)) : raw;
    const out: BaseWeight[] = [];
    let r0 = 0;
    for (const [label, n] of parts ?? [[name, rows]]) {
      this.sourceOf.set(label, t.file);
      const choice = chooseFormat(role, stored, cols, this.opts.quant, this.opts.embeddings);
      if (choice.fallbackFrom)
        this.report.fallbacks.push({ tensor: label, wanted: choice.fallbackFrom, got: choice.format });
      if (choice.format === stored) this.report.kept[stored] = (this.report.kept[stored] ?? 0) + 1;
      else
        this.report.conversions.push({
          tensor: label,
          stored,
          got: choice.format,
          reason: choice.fallbackFrom ? 'row length' : role === 'projection' ? 'quant' : 'embeddings',
          lossy: !isLossless(stored, choice.format),
        });
      out.push(await this.upload(label, stored, rowSlice(bytes, rowBytes, r0, n), n, cols, choice.format));
      r0 += n;
    }
    this.finish(name);
    return out;
  }

  private async upload(
    label: string,
    stored: StoredType,
    bytes: Uint8Array,
    rows: number,
    cols: number,
    format: WeightFormat,
  ): Promise<BaseWeight> {
    const { rt, owner } = this;
    const slab: SlabContext = {
      rt,
      owner,
      meter: this.meter,
      scan: this.scan,
      ...(this.opts.slabBytes ? { slabBytes: this.opts.slabBytes } : {}),
      ...(this.opts.quantize ? { quantize: this.opts.quantize } : {}),
    };
    let w: BaseWeight;
    if (format === stored) {
      // The file's bytes as they are (GGUF blocks are split into the GPU layout: one more copy of the same size).
      if (!isDenseFormat(format)) this.meter.holdBytes(bytes.byteLength);
      w = uploadGgufWeight(rt, owner, label, format, bytes, rows, cols);
    } else if (isDenseFormat(format)) {
      w = toDenseBySlabs(slab, { label, stored, bytes, rows, cols }, format);
    } else if (!isQuantizerFormat(format)) {
      // chooseFormat picks a K-quant only as the tensor's own stored type (handled above).
      throw new Error(`${label}: cannot convert a ${stored} tensor to ${format} (K-quants are only read as stored)`);
    } else if (stored === 'f32' || stored === 'f16' || stored === 'bf16') {
      // The file's f32 / f16 / bf16 bytes are the GPU quantizer's source as they are.
      const src = rt.memory.upload(STAGING_OWNER, label, bytes).buffer;
      try {
        const rec = rt.recorder(`load ${label}`);
        await this.scan.record(rec, { label, buffer: src, type: stored, count: rows * cols });
        w = await quantizeToNewWeight(
          rt,
          rec,
          { src, srcFormat: stored, format, rows, cols, owner, label },
          this.opts.quantize,
        );
        this.created.push(w);
        await rec.submit();
      } finally {
        rt.memory.destroy(src);
      }
    } else {
      w = await quantizeBySlabs(slab, { label, stored, bytes, rows, cols }, format);
    }
    if (!this.created.includes(w)) this.created.push(w);
    if (isQuantWeight(w))
      this.finals.push({
        label,
        buffer: w.scales,
        type: w.format === 'nf4' ? 'f32' : 'f16',
        // Every f16 scale (d, and dmin where the format has one): SCALE_BYTES_PER_BLOCK / 2 per block.
        count:
          ((rows * cols) / BLOCK_VALUES[w.format]) * (w.format === 'nf4' ? 1 : SCALE_BYTES_PER_BLOCK[w.format] / 2),
      });
    else this.finals.push({ label, buffer: w.data, type: w.format, count: rows * cols });
    this.report.weights++;
    this.count(
      w.format,
      weightArrays(w).reduce((s, a) => s + a.buffer.size, 0),
    );
    return w;
  }

  /** Scans the uploaded arrays and throws a ModelLoadError naming the first tensor with NaN / ±Inf values. */
  async checkFinite(): Promise<void> {
    const rec = this.rt.recorder('nonfinite scan');
    for (const r of this.finals) await this.scan.record(rec, r);
    await rec.submit();
    const bad = (await this.scan.results()).filter((r) => r.nonFinite > 0);
    if (bad.length === 0) return;
    const first = bad[0]!;
    const more = bad.length > 1 ? ` (${bad.length - 1} more tensors have some too)` : '';
    throw new ModelLoadError(
      `${this.sourceOf.get(first.label) ?? this.ckpt.files.join(', ')}: tensor ${first.label} holds ${first.nonFinite} value(s) that are NaN, ±Inf or beyond ±2^40 (no real weight is), the first at element ${first.first}${more}. The checkpoint is corrupt: download it again.`,
    );
  }

  destroyAll(): void {
    this.scan.destroy();
    for (const w of this.created) destroyWeight(this.rt, w);
    for (const b of this.buffers) this.rt.memory.destroy(b);
  }
}

async function loadLayer(L: Loading, l: number): Promise<BlockWeights> {
  const d = L.ckpt.desc;
  const p = `model.layers.${l}`;
  const q = d.heads * d.headDim;
  const kv = d.kvHeads * d.headDim;
  const proj: Partial<Record<LoraTarget, BaseWeight>> = {};
  const inputNorm = await L.vector(`${p}.input_layernorm.weight`);
  if (d.fused) {
    [proj.q_proj, proj.k_proj, proj.v_proj] = await L.matrix(`${p}.self_attn.qkv_proj.weight`, 'projection', [
      [`${p}.self_attn.q_proj.weight`, q],
      [`${p}.self_attn.k_proj.weight`, kv],
      [`${p}.self_attn.v_proj.weight`, kv],
    ]);
  } else {
    for (const t of ['q_proj', 'k_proj', 'v_proj'] as const)
      [proj[t]] = await L.matrix(`${p}.self_attn.${t}.weight`, 'projection');
  }
  const bias = d.qkvBias
    ? {
        q_proj: await L.vector(`${p}.self_attn.q_proj.bias`),
        k_proj: await L.vector(`${p}.self_attn.k_proj.bias`),
        v_proj: await L.vector(`${p}.self_attn.v_proj.bias`),
      }
    : null;
  const qNorm = d.qkNorm ? await L.vector(`${p}.self_attn.q_norm.weight`) : null;
  const kNorm = d.qkNorm ? await L.vector(`${p}.self_attn.k_norm.weight`) : null;
  [proj.o_proj] = await L.matrix(`${p}.self_attn.o_proj.weight`, 'projection');
  const postAttnNorm = await L.vector(`${p}.post_attention_layernorm.weight`);
  const preFfnNorm = d.sandwichNorms ? await L.vector(`${p}.pre_feedforward_layernorm.weight`) : null;
  const postFfnNorm = d.sandwichNorms ? await L.vector(`${p}.post_feedforward_layernorm.weight`) : null;
  if (d.fused) {
    [proj.gate_proj, proj.up_proj] = await L.matrix(`${p}.mlp.gate_up_proj.weight`, 'projection', [
      [`${p}.mlp.gate_proj.weight`, d.intermediate],
      [`${p}.mlp.up_proj.weight`, d.intermediate],
    ]);
  } else {
    for (const t of ['gate_proj', 'up_proj'] as const) [proj[t]] = await L.matrix(`${p}.mlp.${t}.weight`, 'projection');
  }
  [proj.down_proj] = await L.matrix(`${p}.mlp.down_proj.weight`, 'projection');
  for (const t of LORA_TARGETS) if (!proj[t]) throw new Error(`layer ${l}: ${t} was not loaded`);
  return {
    inputNorm,
    postAttnNorm,
    preFfnNorm,
    postFfnNorm,
    qNorm,
    kNorm,
    proj: proj as Record<LoraTarget, BaseWeight>,
    bias,
  };
}

/**
 * Loads the model in `source` onto the GPU. The returned weights belong to `owner` (default 'weights'); free them
 * with `rt.memory.destroyOwner(owner)`.
 */
export async function loadModel(rt: GpuRuntime, source: ModelSource, opts: LoadOptions): Promise<LoadedModel> {
  const t0 = performance.now();
  const owner = opts.owner ?? 'weights';
  const ckpt = await openCheckpoint(source);
  let L: Loading | undefined;
  try {
    const specs = checkTensors(ckpt);
    L = new Loading(
      rt,
      ckpt,
      opts,
      owner,
      specs.map((s) => s.name),
    );
    const d = ckpt.desc;
    const [embed] = await L.matrix('model.embed_tokens.weight', 'embedding');
    const layers: BlockWeights[] = [];
    for (let l = 0; l < d.layers; l++) layers.push(await loadLayer(L, l));
    const finalNorm = await L.vector('model.norm.weight');
    const head = d.tieEmbeddings ? embed! : (await L.matrix('lm_head.weight', 'head'))[0]!;
    await L.checkFinite();
    L.scan.destroy();
    const weights: ModelWeights = { desc: d, embed: embed!, layers, finalNorm, head, owner };
    const report: LoadReport = {
      ...L.report,
      hostPeakBytes: L.meter.peak,
      gpuBytes: rt.memory.stats().byOwner[owner]?.liveBytes ?? 0,
      ms: performance.now() - t0,
    };
    return { weights, hostPeakBytes: L.meter.peak, report };
  } catch (err) {
    L?.destroyAll();
    throw err;
  } finally {
    await ckpt.close();
  }
}
