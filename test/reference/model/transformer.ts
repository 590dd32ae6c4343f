/**
 * The float64 reference model: every supported architecture's forward pass (HF semantics, tensor names as in
 * model.safetensors), with optional unmerged LoRA adapters, built from the taped ops so gradients come for free.
 */
import type { ModelDescription } from '../../../src/model/config.ts';
import { add, attention, columns, crossEntropy, embed, glu, linear, rmsnorm, rope, scale, softcap } from './ops.ts';
import { type Tape, Tensor } from './tape.ts';

export type RefWeights = Map<string, Tensor>;

/** LoRA adapters keyed by module path, e.g. "model.layers.0.self_attn.q_proj"; A [R, in], B [out, R]. */
export interface RefLora {
  scaling: number;
  modules: Map<string, { A: Tensor; B: Tensor }>;
}

/** Inverse RoPE frequencies in float64, with `linear` and `llama3` scaling (FORMATS.md). */
export function refInvFreq(d: ModelDescription): number[] {
  const half = d.rotaryDim / 2;
  const out: number[] = [];
  for (let i = 0; i < half; i++) {
    const f = 1 / d.ropeTheta ** ((2 * i) / d.rotaryDim);
    const r = d.rope;
    if (r.type === 'linear') out.push(f / r.factor);
    else if (r.type === 'llama3') {
      const wavelen = (2 * Math.PI) / f;
      const lowWavelen = r.originalMaxPositions / r.lowFreqFactor;
      const highWavelen = r.originalMaxPositions / r.highFreqFactor;
      if (wavelen < highWavelen) out.push(f);
      else if (wavelen > lowWavelen) out.push(f / r.factor);
      else {
        const s = (r.originalMaxPositions / wavelen - r.lowFreqFactor) / (r.highFreqFactor - r.lowFreqFactor);
        out.push((1 - s) * (f / r.factor) + s * f);
      }
    } else out.push(f);
  }
  return out;
}

function w(weights: RefWeights, name: string): Tensor {
  const t = weights.get(name);
  if (!t) throw new Error(`reference model: missing tensor ${name}`);
  return t;
}

/** A linear layer with its optional bias and LoRA adapter: x·Wᵀ + b + s·(x·Aᵀ)·Bᵀ. */
function proj(tape: Tape, weights: RefWeights, lora: RefLora | undefined, x: Tensor, path: string): Tensor {
  const y = linear(tape, x, w(weights, `${path}.weight`), weights.get(`${path}.bias`));
  const ad = lora?.modules.get(path);
  if (!ad) return y;
  return add(tape, y, scale(tape, linear(tape, linear(tape, x, ad.A), ad.B), lora!.scaling));
}

const reshape = (t: Tensor, shape: number[]) => {
  // Views share data; gradients flow because the op that produced `t` accumulates into the same object.
  const v = new Tensor(t.data, shape, t.requiresGrad);
  return { view: v, link: (tape: Tape) => tape.record(v, (g) => t.accumulate(g)) };
};

export interface RefForwardOptions {
  lora?: RefLora;
  positions?: readonly number[];
  /** Packing: attention never crosses segment boundaries. */
  segments?: readonly number[];
  /** GELU as llama.cpp's CPU backend computes it, through an f16 table (ops.ts glu). */
  geluF16Table?: boolean;
}

/** One transformer block of layer `l` on hidden states x [T, C]: attention and MLP with their residuals. */
export function refBlock(
  tape: Tape,
  d: ModelDescription,
  weights: RefWeights,
  x: Tensor,
  l: number,
  opts: RefForwardOptions & { positions: readonly number[] },
): Tensor {
  const T = x.shape[0]!;
  const positions = opts.positions;
  const invFreq = refInvFreq(d);
  const norm = (t: Tensor, name: string) => rmsnorm(tape, t, w(weights, name), d.rmsEps, d.normPlusOne);
  const q = d.heads * d.headDim;
  const kv = d.kvHeads * d.headDim;
  const p = `model.layers.${l}`;
  // Attention.
  const h = norm(x, `${p}.input_layernorm.weight`);
  let qt: Tensor, kt: Tensor, vt: Tensor;
  if (d.fused) {
    const qkv = proj(tape, weights, opts.lora, h, `${p}.self_attn.qkv_proj`);
    qt = columns(tape, qkv, 0, q);
    kt = columns(tape, qkv, q, kv);
    vt = columns(tape, qkv, q + kv, kv);
  } else {
    qt = proj(tape, weights, opts.lora, h, `${p}.self_attn.q_proj`);
    kt = proj(tape, weights, opts.lora, h, `${p}.self_attn.k_proj`);
    vt = proj(tape, weights, opts.lora, h, `${p}.self_attn.v_proj`);
  }
  const q3 = reshape(qt, [T, d.heads, d.headDim]);
  const k3 = reshape(kt, [T, d.kvHeads, d.headDim]);
  const v3 = reshape(vt, [T, d.kvHeads, d.headDim]);
  let qh = q3.link(tape);
  let kh = k3.link(tape);
  const vh = v3.link(tape);
  if (d.qkNorm) {
    qh = rmsnorm(tape, qh, w(weights, `${p}.self_attn.q_norm.weight`), d.rmsEps, false);
    kh = rmsnorm(tape, kh, w(weights, `${p}.self_attn.k_norm.weight`), d.rmsEps, false);
  }
  qh = rope(tape, qh, positions, invFreq, d.rotaryDim);
  kh = rope(tape, kh, positions, invFreq, d.rotaryDim);
  const att = attention(tape, qh, kh, vh, {
    scale: d.attnScale,
    window: d.windowPerLayer[l] ?? 0,
    softcap: d.attnSoftcap ?? 0,
    ...(opts.segments ? { segments: opts.segments } : {}),
  });
  const att2 = reshape(att, [T, q]).link(tape);
  let o = proj(tape, weights, opts.lora, att2, `${p}.self_attn.o_proj`);
  if (d.sandwichNorms) o = norm(o, `${p}.post_attention_layernorm.weight`);
  x = add(tape, x, o);

  // MLP.
  const m = norm(x, d.sandwichNorms ? `${p}.pre_feedforward_layernorm.weight` : `${p}.post_attention_layernorm.weight`);
  let gate: Tensor, up: Tensor;
  if (d.fused) {
    const gu = proj(tape, weights, opts.lora, m, `${p}.mlp.gate_up_proj`);
    gate = columns(tape, gu, 0, d.intermediate);
    up = columns(tape, gu, d.intermediate, d.intermediate);
  } else {
    gate = proj(tape, weights, opts.lora, m, `${p}.mlp.gate_proj`);
    up = proj(tape, weights, opts.lora, m, `${p}.mlp.up_proj`);
  }
  let down = proj(tape, weights, opts.lora, glu(tape, gate, up, d.activation, opts.geluF16Table), `${p}.mlp.down_proj`);
  if (d.sandwichNorms) down = norm(down, `${p}.post_feedforward_layernorm.weight`);
  x = add(tape, x, down);
  return x;
}

/** Logits [T, V] for one sequence of token ids. */
export function refForward(
  tape: Tape,
  d: ModelDescription,
  weights: RefWeights,
  ids: readonly number[],
  opts: RefForwardOptions = {},
): Tensor {
  const positions = opts.positions ?? ids.map((_, i) => i);
  const norm = (x: Tensor, name: string) => rmsnorm(tape, x, w(weights, name), d.rmsEps, d.normPlusOne);

  let x = embed(tape, w(weights, 'model.embed_tokens.weight'), ids, d.embedScale);
  for (let l = 0; l < d.layers; l++) x = refBlock(tape, d, weights, x, l, { ...opts, positions });
  x = norm(x, 'model.norm.weight');
  const head = d.tieEmbeddings ? w(weights, 'model.embed_tokens.weight') : w(weights, 'lm_head.weight');
  let logits = linear(tape, x, head);
  if (d.finalSoftcap) logits = softcap(tape, logits, d.finalSoftcap);
  return logits;
}

/** Mean cross-entropy over masked tokens: predicts ids[t+1] from ids[..t]; mask[t] says whether target t+1 is trained. */
export function refLoss(
  tape: Tape,
  d: ModelDescription,
  weights: RefWeights,
  ids: readonly number[],
  mask: readonly number[],
  opts: RefForwardOptions & { denominator?: number } = {},
): Tensor {
  const logits = refForward(tape, d, weights, ids, opts);
  const V = d.vocab;
  const T = ids.length - 1;
  const head = new Tensor(logits.data.subarray(0, T * V), [T, V]);
  tape.record(head, (g) => {
    const full = new Float64Array(logits.size);
    full.set(g);
    logits.accumulate(full);
  });
  return crossEntropy(tape, head, ids.slice(1), mask.slice(0, T), opts.denominator);
}
