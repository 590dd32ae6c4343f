/**
 * Every kernel tolerance in one table, each with its reason. Tests import from here; nothing else sets tolerances.
 */
import type { Tolerance } from './allclose.ts';

export const TOLERANCES = {
  /**
   * f32 matmul against float64: inputs in [-1, 1], K ≤ 512 products summed with fma in f32.
   * Rounding grows like √K·2⁻²⁴·Σ|a·b|, so a relative bound alone fails on sums that cancel to ~0;
   * atol covers those (Σ|a·b| ≤ K/3 on average, √512·6e-8·170 ≈ 2e-4 worst case, we take 1e-4 + 1e-4·|ref|).
   */
  matmul_f32: { atol: 1e-4, rtol: 1e-4, normRel: 1e-5 },
  /**
   * RMSNorm y, rstd and dx against float64 (inputs O(1), outputs O(1–5)): an f32 tree sum of C ≤ 700 squares,
   * inverseSqrt (a few ulp), a few products; measured ≤ 7e-7 abs. Element-wise outputs, so no norm-wise bound: with
   * C = 1, dx = r·g·dy·eps/(x² + eps) is pure cancellation of two O(1) terms and only an absolute bound makes sense.
   */
  rmsnorm_f32: { atol: 5e-6, rtol: 2e-5 },
  /**
   * RMSNorm dw: a sum over N ≤ 300 rows of dy·x·rstd (sums O(10)) in two f32 passes (lanes + partials, then the
   * partials); measured ≤ 2.5e-6 abs, 1.6e-7 norm-wise; sums that cancel to ~0 need the absolute floor.
   */
  rmsnorm_dw_f32: { atol: 2e-5, rtol: 1e-5, normRel: 2e-6 },
  /**
   * GLU element-wise: exp / tanh are within a few ulp (SwiftShader's tanh a little looser near 0); gates in [-6, 6]
   * plus 40 and −95 (values up to 80); measured ≤ 3.8e-6 abs; outputs that underflow to ~0 need the absolute floor.
   */
  glu_f32: { atol: 2e-5, rtol: 2e-5 },
  /** Element-wise add / fill / scale: one f32 rounding, i.e. half an ulp of the result. */
  elementwise_f32: { atol: 1e-7, rtol: 1e-6 },
  /**
   * Cross-entropy loss and per-token losses (values up to ~60 with large soft-capped logits): f32 matmul logits
   * (C ≤ 48), online log-sum-exp over V ≤ 1000, exp / log / tanh of a few ulp; measured ≤ 8e-6 abs, 1.4e-6 rel.
   */
  cross_entropy_loss_f32: { atol: 2e-5, rtol: 1e-5, normRel: 1e-6 },
  /**
   * Cross-entropy gradients (dlogits, dh = dlogits·Wout), O(1/trained) ≈ 0.1: softmax probabilities carry exp's
   * error on l − lse, the −1 at the target cancels, dh sums V ≤ 1000 of them; measured ≤ 2e-7 abs, 6e-7 norm-wise.
   */
  cross_entropy_grad_f32: { atol: 1e-6, rtol: 1e-4, normRel: 5e-6 },
  /**
   * AdamW parameters O(1) after 4 steps at lr 1e-2: each update lr·m̂/(√v̂ + eps) is computed to ~1e-6 of itself and
   * the f32 parameter rounds to 6e-8 per step; measured ≤ 3e-7 abs (2.5 ulp of 1).
   */
  adamw_f32: { atol: 1e-6, rtol: 1e-5 },
  /**
   * AdamW first moment m: β1·m + (1 − β1)·g cancels to ~0 when g changes sign, leaving the rounding of O(1e-2) terms
   * (ulp ≈ 1e-9, a few per step); measured ≤ 9e-9 abs.
   */
  adamw_m_f32: { atol: 5e-8, rtol: 1e-5 },
  /**
   * AdamW second moment v (≈ 1e-7, a sum of positive terms, so purely relative): 1 − β2 arrives from float64, the
   * clipped g carries the f32 clip factor's ~1e-7; measured ≤ 5e-7 rel.
   */
  adamw_v_f32: { atol: 0, rtol: 2e-6 },
  /** Gradient norm over ~4400 squares in f32 trees, and the clip factor derived from it: measured ≤ 1e-7 rel. */
  grad_norm_f32: { atol: 0, rtol: 2e-6 },
  /**
   * LoRA products with PEFT-like scales (A ±1/√K, B ±1/√R, x and dy O(1), s = 2): f32 fma sums of ≤ 300 terms, split
   * into partial sums for split-K, times a dropout multiplier 1/(1 − p) that is exact neither in f32 nor in the sums;
   * outputs O(1–20); measured ≤ 1e-5 abs, 2.4e-7 norm-wise; sums that cancel to ~0 need the absolute floor.
   */
  lora_f32: { atol: 5e-5, rtol: 5e-5, normRel: 2e-6 },
  /**
   * Attention output against float64: logits are f32 dot products over D ≤ 256 (inputs scaled so logits spread
   * over ±5, error ~√D·2⁻²⁴·Σ|q·k| ≈ 1e-6), exp2 in f32, online-softmax rescaling over ≤ 256 key tiles; out is a
   * convex combination of |v| ≤ 1, so its error is absolute: ≤ 1.1e-6 seen (T 4096, D 256); 5e-6 leaves 4× room.
   */
  attention_out: { atol: 5e-6, rtol: 1e-4, normRel: 5e-6 },
  /**
   * Decode attention (split over the cache, then combined) against float64: the same f32 logits, exp2 and
   * online-softmax rescaling as attention_out within a chunk, plus the combine's exp2(m_j − M) weights and one
   * division; out is a convex combination of |v| ≤ 1, so the error is absolute: ≤ 2.8e-7 abs and 4.5e-7 norm-wise
   * seen (L ≤ 4096, D ≤ 256, up to 64 chunks; the norm-wise error is largest at L 4096 where out is small).
   */
  attention_decode_out: { atol: 2e-6, rtol: 1e-5, normRel: 2e-6 },
  /** Attention log-sum-exp: values up to ~15, where one f32 ulp is 1e-6; ≤ 3.4e-6 seen. */
  attention_lse: { atol: 1e-5, rtol: 1e-6 },
  /**
   * Attention dq, dk, dv against float64: sums over ≤ T keys or T·G query rows of P·(dP − Δ)·products, recomputed
   * P = exp2(x·log2 e − lse·log2 e) in f32 (relative error ~ulp(lse) ≈ 1e-6); ≤ 3.2e-6 abs and 1.1e-6 norm-wise seen.
   */
  attention_grad: { atol: 1e-5, rtol: 1e-4, normRel: 1e-5 },
  /**
   * RoPE against float64 (inputs in [-1, 1], positions up to 2²⁴): the shader's angle is exact turn arithmetic
   * on 64-bit fixed-point frequencies, off by ≤ ~5e-8 rad at any position < 2³² (i32 → f32 of the reduced angle,
   * f32 polynomial cos/sin), plus ≤ 2 ulp in x·cos − x'·sin; ≤ 1.8e-7 seen. A plain f32 pos·inv_freq angle
   * misses this by 1e-2 at 2²⁰ (the large-position test checks that it would fail).
   */
  rope_f32: { atol: 5e-7, rtol: 1e-6, normRel: 2e-7 },
  /**
   * Linear layers with f16 / bf16 / Q8_0 / Q4_0 / NF4 base weights against float64 on the dequantized weight:
   * the weight values reach the sums exactly (f16 and bf16 widen exactly; q·d and (q−8)·d are products of a ≤ 8-bit
   * integer and an 11-bit f16 significand; NF4's code·absmax is one f32 rounding, 6e-8 relative), |W| ≤ 1 and
   * inputs in [-1, 1], so the error is matmul_f32's: f32 fma sums of K ≤ 512 (or M ≤ 300) products. The norm-wise
   * bound is looser than matmul_f32's because these tests include 1×K×1 shapes, where the norm is one dot product
   * that can cancel: seen 1.45e-5 for a 64-term NF4 sum of 0.0202 (2.9e-7 absolute, well inside atol).
   */
  matmul_weight_formats: { atol: 1e-4, rtol: 1e-4, normRel: 1e-4 },
  /**
   * Linear layers with GGUF K-quant weights (random blocks, |W| ≲ 1) against float64 on the CPU dequantization of
   * the same bytes: the decode rounds where ggml's does, so the error is the f32 fma sums over K ≤ 768 (or M ≤ 300)
   * products, as matmul_weight_formats: seen 1.4e-5 absolute on outputs up to ~20 (Q5_K, 65×512×129) and 5.8e-7
   * norm-wise (test/kernels/matmul_kquant.test.ts, default seeds).
   */
  matmul_kquant: { atol: 1e-4, rtol: 1e-4, normRel: 1e-5 },
  /**
   * One whole transformer block (norms, seven LoRA projections, RoPE, attention, GLU, residuals) forward and backward
   * against float64: ~30 f32 kernels in sequence with O(1) activations and C ≤ 24, I ≤ 24, T = 7 sums; errors of the
   * single ops (≤ 1e-5) compound through norms' rstd and the softmax.
   */
  block_f32: { atol: 1e-4, rtol: 1e-4, normRel: 1e-5 },
  /**
   * Logits of the whole tiny model (2 blocks, C = 16, V = 23) against float64: the block's composed error passes
   * through the final norm and the head's sum over C; logits are O(1–10).
   */
  model_f32: { atol: 2e-4, rtol: 2e-4, normRel: 2e-5 },
  /**
   * LoRA gradients of the full model's masked mean loss: the softmax gradient (probabilities minus one-hot, ~1e-2
   * per token after the 1/trained scale) flows back through every block; sums that cancel need the absolute floor.
   */
  model_grad_f32: { atol: 2e-5, rtol: 5e-4, normRel: 5e-5 },
  /**
   * Embedding gather against float64 on the dequantized table: the decode is exact (f16/bf16 widen, q·d and (q−8)·d
   * are small-integer × f16 products) except NF4's code·absmax (one f32 rounding); then one f32 multiply by the
   * scale: at most two roundings, 2·2⁻²⁴ ≈ 1.2e-7 relative; zeros (out-of-range ids, zero codes) must be exact.
   */
  embedding_f32: { atol: 0, rtol: 2.5e-7 },
  /**
   * The same weights from GGUF F32 and from safetensors: identical values after the q/k unpermute and (gemma) the
   * norm shift, whose −1 is exact only to 2⁻²³ of the stored w + 1; logits agree to f32 rounding.
   */
  gguf_vs_safetensors: { atol: 1e-5, rtol: 1e-5, normRel: 1e-6 },
  /**
   * Quantized bases against the f32 engine, norm-wise over all logits of the tiny models (N(0, 0.02) weights):
   * 8-bit blocks keep ~2⁻⁸ relative error per weight, 4-bit ~2⁻⁴ (q4_0) and NF4's code spacing; errors average
   * over the C-long dot products and a few layers. The tiny models' rows hold only 1–2 blocks (C = 64), so one
   * outlier sets the scale of a whole row: measured 1.1–1.8e-2 (q8_0), 1.4–2.4e-1 (q4_0), 1.5–2.1e-1 (nf4), norm-wise.
   * Element-wise bounds are loose on purpose: the norm-wise bound is the check.
   */
  logits_q8_0: { atol: 2, rtol: 0, normRel: 3e-2 },
  logits_q4_0: { atol: 2, rtol: 0, normRel: 3e-1 },
  logits_nf4: { atol: 2, rtol: 0, normRel: 3e-1 },
  /**
   * The trainer's update against float64 AdamW run on the GPU's own gradients, one step at a time from the GPU's
   * weights (test/kernels/trainer.test.ts; the gradients themselves are held to model_grad_f32): only the optimizer's
   * f32 rounding of O(0.1–1) weights is left. Checking whole trajectories instead failed 2 of 50 seeds, because where
   * a gradient changes sign between steps m̂ nearly cancels while √v̂ does not, and m̂/√v̂ amplifies the f32 gradient
   * error by |g|/|m̂|. Measured over 50 random seeds (`npm run test:seeds -- --seeds=50 --only=gpu
   * test/kernels/trainer.test.ts -t "matches a float64"`): worst 0.009 of the element-wise bound,
   * 0.18 of the norm-wise one (1.8e-7).
   */
  trainer_f32: { atol: 1e-6, rtol: 1e-5, normRel: 1e-6 },
  /**
   * A packed row against the same examples unpacked, both on the GPU in f32: the same math on the same values, so
   * only the order of sums over tokens differs (the loss's per-token sum, the partial sums of the LoRA gradients over
   * B·T rows, where padding adds exact zeros); measured over 8 seeds: loss ≤ 2 ulp (1.3e-7 rel), gradients bit-identical.
   * A target leaking across examples adds a whole token's loss (O(1)); attention leaking across them (no segments)
   * moved the tiny models' loss by only 4e-4–2.5e-3 relative, hence a bound far below model_grad_f32's.
   */
  packing_f32: { atol: 1e-5, rtol: 1e-5, normRel: 1e-5 },
  /**
   * A merged model (W + s·B@A rounded once to f32, src/train/merge.ts) against the base model with the same adapter
   * applied unmerged by the engine, both on the GPU in f32 (test/kernels/exports.test.ts): the same math in another
   * order, xW' versus xW + s·(xA)B, so each projection differs by f32 rounding of O(1) sums over ≤ 128 terms, carried
   * through the tiny models' blocks and head; logits O(1–10). Measured over 10 seeds (llama, qwen2, adapters ±0.3 on
   * every projection): ≤ 1.1e-5 abs, ≤ 2.3e-6 norm-wise. A merge bug (scale, transpose, a wrong row) moves logits by O(0.1–1).
   */
  merged_vs_adapter_f32: { atol: 5e-5, rtol: 5e-5, normRel: 1e-5 },
  /**
   * Phi-3 logits with a trained adapter against the same adapter written as PEFT's fused qkv_proj / gate_up_proj and
   * read back (test/kernels/phi3-lora.test.ts): both on the GPU in f32, the reloaded q/k/v and gate/up adapters have
   * rank n·r (the shared stacked A, B with zero blocks) and every module is zero-padded to one rank, so x·A has extra
   * terms that B multiplies by exact zeros and the split-K sums run in another order; the difference is f32 rounding
   * carried through the tiny model's blocks and head (logits O(1–10)). Measured 0 (bitwise equal) on SwiftShader,
   * where the zero terms are exact and the order happens to match; the bound leaves room for another device's split-K
   * order. A misplaced block moved logits by 7.8 (max abs), 1.7 norm-wise.
   */
  phi3_fused_reload: { atol: 2e-5, rtol: 2e-5, normRel: 5e-6 },
  /**
   * The exported ONNX decoder (f32) run by onnxruntime-node on the CPU against the float64 reference model, tiny models
   * of every architecture with an adapter on every projection (test/judges/onnx/reference.test.ts): the same math in
   * f32 with MLAS' summation order; logits O(1–5). Measured over 4 seeds: ≤ 1.2e-5 abs, ≤ 1.4e-6 norm-wise. A graph bug
   * (a missed norm, a wrong RoPE half, a mask off by one) moves logits by O(0.1–1).
   */
  onnx_vs_reference_f32: { atol: 5e-5, rtol: 5e-5, normRel: 5e-6 },
  /**
   * Step-by-step decoding with past_key_values fed back against the full pass, both onnxruntime f32: the same values
   * through reductions of other shapes (softmax over 1 row instead of 20, matmuls of M = 1); measured ≤ 1.7e-5 abs,
   * ≤ 1.7e-6 norm-wise over 4 seeds. A cache bug (wrong position, a lost token) moves logits by O(0.1–1).
   */
  onnx_kv_steps: { atol: 5e-5, rtol: 5e-5, normRel: 5e-6 },
  /**
   * The f16 variant (f16 weights, projections, RoPE, attention products and KV cache; f32 norms, softmax, residual) against
   * the f32 variant: f16 rounding (2⁻¹¹ relative) of every weight and activation, compounded over 2–3 layers; measured
   * ≤ 1.9e-2 abs, ≤ 2.6e-3 norm-wise over 4 seeds. Element-wise bound loose on purpose: the norm-wise bound is the check.
   */
  onnx_f16_vs_f32: { atol: 0.1, rtol: 0, normRel: 6e-3 },
  /**
   * The q4 variant (MatMulNBits 4-bit blocks of 32, asymmetric; an untied head quantized too) against the f32 variant:
   * each weight off by up to half a step (range/30) in rows of only 2–4 blocks (C = 64), compounded over every projection
   * of 2–3 layers; measured 0.21–0.58 norm-wise, ≤ 4.4 abs over 4 seeds. Wrong packing (nibble order, zero points,
   * scales) gives garbage (≥ 1 norm-wise); test/judges/onnx/q4.test.ts checks the packing exactly. The argmax check is
   * made where the logits are decided, on a trained adapter (test/judges/onnx/engine.test.ts).
   */
  onnx_q4_vs_f32: { atol: 5, rtol: 0, normRel: 0.8 },
  /**
   * The exported ONNX decoder (f32, adapter merged) in onnxruntime-node against the engine with the same PEFT adapter
   * applied unmerged on the GPU (test/judges/onnx/engine.test.ts; what `cli logits --adapter` computes), trained
   * adapters on every architecture: f32 both, other summation orders, xW' versus xW + s·(xA)B; logits O(1–10).
   * Measured ≤ 6.8e-6 abs, ≤ 5.3e-7 norm-wise; as tight as trainer_f32.
   */
  onnx_vs_engine_f32: { atol: 3e-5, rtol: 3e-5, normRel: 3e-6 },
  /**
   * llama.cpp (node-llama-cpp's CPU build, KV cache F32) against the engine on F32 GGUF tiny models
   * (test/judges/llamacpp/f32.test.ts): max abs difference of next-token log-probabilities; the same math in f32
   * summed in other orders.
   */
  llamacpp_f32: { atol: 1e-4, rtol: 0 },
  /**
   * The same for Gemma 1 / 2, whose GELU llama.cpp's CPU backend reads from an f16 table (input and output rounded to
   * f16; docs/formats.md, "GGUF as llama.cpp reads it"). Measured 1.9e-4 (gemma), 1.2e-3 (gemma2: three layers, GELU
   * inputs up to ~8 where an f16 step is 2⁻⁸); with a random LoRA adapter on every projection 2.5e-3 / 2.8e-3. The
   * float64 model with the same table matches llama.cpp to ≤ 1.3e-5, so the deviation is the table's alone, and the
   * engine is held to the exact float64 model instead (llamacpp_engine_vs_reference).
   */
  llamacpp_gelu_f32: { atol: 5e-3, rtol: 0 },
  /**
   * llama.cpp on a Gemma F32 GGUF (with or without a LoRA) against the float64 model with its f16 GELU table: a gate
   * whose f32 value and float64 value fall on either side of an f16 rounding midpoint reads a neighbouring table entry
   * (one f16 step, 2⁻¹¹ relative, on that element). Measured ≤ 8.2e-5 (gemma2 with a LoRA), ≤ 1.3e-5 without.
   */
  llamacpp_vs_gelu_table: { atol: 3e-4, rtol: 0 },
  /** The engine on a Gemma F32 GGUF against the float64 reference model (exact GELU): measured ≤ 6e-6. */
  llamacpp_engine_vs_reference: { atol: 1e-5, rtol: 0 },
  /**
   * Quantized and 16-bit GGUF (test/judges/llamacpp/quant.test.ts): the engine may differ from llama.cpp by this many
   * times llama.cpp's own distance to the same weights dequantized to F32, plus the architecture's F32 bound.
   */
  llamacpp_quant: { atol: 0, rtol: 1.5 },
} satisfies Record<string, Tolerance>;
