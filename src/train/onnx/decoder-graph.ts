/**
 * The ONNX graph of a decoder-only model (every architecture of src/model/config.ts), in the layout transformers.js
 * runs (see docs/onnx.md):
 *   inputs   input_ids [batch, seq] int64, attention_mask [batch, past+seq] int64, position_ids [batch, seq] int64,
 *            past_key_values.{i}.key / .value [batch, Hkv, past, D], num_logits_to_keep [] int64 (0 = every position)
 *   outputs  logits [batch, kept, V] float32, present.{i}.key / .value [batch, Hkv, past+seq, D]
 * Plain standard ops only (opset 17), which both onnxruntime-web execution providers (WASM and WebGPU) run; the
 * q4 variant adds com.microsoft MatMulNBits, the op transformers.js' q4 models use. RMSNorm, softmax, the residual
 * stream and the logits stay in float32 in every variant; f16 runs the projections, RoPE and attention products in
 * float16 and keeps the KV cache in float16.
 */
import { CONTRIB_DOMAIN, GraphBuilder, type OnnxDtype } from '../../formats/onnx/graph.ts';
import { DecoderOps } from './decoder-ops.ts';
import type { OnnxOpset } from '../../formats/onnx/writer.ts';
import type { ModelDescription } from '../../model/config.ts';
import type { DecoderGraphOptions, OnnxAdapterMode, OnnxVariant } from './graph-options.ts';
import type { Recipe } from './recipes.ts';

export type { DecoderGraphOptions, OnnxAdapterMode, OnnxVariant };

export interface DecoderGraph {
  graph: GraphBuilder;
  recipes: Map<string, Recipe>;
  opsets: OnnxOpset[];
  /** dtype of past_key_values / present (float32, or float16 for the f16 variant). */
  kvDtype: OnnxDtype;
}

const LOWEST_F32 = -3.4028234663852886e38;
const INT64_MAX = Number.MAX_SAFE_INTEGER;

type Proj = 'q_proj' | 'k_proj' | 'v_proj' | 'o_proj' | 'gate_proj' | 'up_proj' | 'down_proj';

export function buildDecoderGraph(d: ModelDescription, o: DecoderGraphOptions): DecoderGraph {
  const g = new GraphBuilder('decoder');
  const recipes = new Map<string, Recipe>();
  const act: OnnxDtype = o.variant === 'f16' ? 'float16' : 'float32';
  const wdtype = act as 'float32' | 'float16';
  const q = d.heads * d.headDim;
  const kv = d.kvHeads * d.headDim;
  const C = d.hidden;
  const G = d.heads / d.kvHeads;
  const half = d.rotaryDim / 2;
  const positions = o.positions ?? d.maxPositions;

  const ops = new DecoderOps(g, recipes, d, o);
  const { toAct, toF32, constAct, dense, normWeight, matmul, branch, bias, rmsnorm } = ops;

  // ---- inputs
  const inputIds = g.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const attentionMask = g.input('attention_mask', 'int64', ['batch_size', 'total_sequence_length']);
  const positionIds = g.input('position_ids', 'int64', ['batch_size', 'sequence_length']);
  const past: { key: string; value: string }[] = [];
  for (let l = 0; l < d.layers; l++) {
    const shape = ['batch_size', d.kvHeads, 'past_sequence_length', d.headDim];
    past.push({
      key: g.input(`past_key_values.${l}.key`, act, shape),
      value: g.input(`past_key_values.${l}.value`, act, shape),
    });
  }
  const logitsToKeep = g.input('num_logits_to_keep', 'int64', []);

  // ---- shapes, positions, masks
  const shapeOf = (x: string, start: number, end: number, hint: string) =>
    g.node('Shape', [x], { start, end }, { hint });
  const seqLen = shapeOf(inputIds, 1, 2, 'seq_len'); // [1]
  const totalLen = shapeOf(attentionMask, 1, 2, 'total_len'); // [1]
  const pastLen = g.node('Sub', [totalLen, seqLen], {}, { hint: 'past_len' });
  const scalarOf = (x: string, hint: string) => g.node('Squeeze', [x, g.i64(`${hint}_axes`, [0])], {}, { hint });
  const one = g.i64('one', [1], []);
  const total = scalarOf(totalLen, 'total_scalar');
  const keyPos = g.node('Range', [g.i64('zero', [0], []), total, one], {}, { hint: 'key_pos' }); // [T]
  const queryPos = g.node('Range', [scalarOf(pastLen, 'past_scalar'), total, one], {}, { hint: 'query_pos' }); // [S]
  const keyRow = g.node('Unsqueeze', [keyPos, g.i64('axes0', [0])], {}, { hint: 'key_row' }); // [1, T]
  const queryCol = g.node('Unsqueeze', [queryPos, g.i64('axes1', [1])], {}, { hint: 'query_col' }); // [S, 1]
  const causal = g.node('LessOrEqual', [keyRow, queryCol], {}, { hint: 'causal' }); // [S, T]
  const padOk = g.node(
    'Unsqueeze',
    [g.node('Cast', [attentionMask], { to: 9 }, { hint: 'mask_bool' }), g.i64('axes12', [1, 2])],
    {},
    { hint: 'pad_ok' },
  ); // [B, 1, 1, T]
  const zeroF = g.scalar('mask_zero', 0);
  const lowest = g.scalar('mask_lowest', LOWEST_F32);
  const masks = new Map<number | null, string>();
  const maskFor = (window: number | null): string => {
    const have = masks.get(window);
    if (have) return have;
    let allowed = causal;
    if (window !== null) {
      const lo = g.node(
        'Sub',
        [queryCol, g.i64(`window_${window}`, [window], [])],
        {},
        { hint: `window_${window}_lo` },
      );
      allowed = g.node(
        'And',
        [allowed, g.node('Greater', [keyRow, lo], {}, { hint: `window_${window}_in` })],
        {},
        { hint: `window_${window}_allowed` },
      );
    }
    const both = g.node('And', [padOk, allowed], {}, { hint: `allowed_${window ?? 'full'}` }); // [B, 1, S, T]
    let mask = g.node('Where', [both, zeroF, lowest], {}, { hint: `mask_${window ?? 'full'}` });
    if (G > 1)
      mask = g.node(
        'Unsqueeze',
        [mask, g.i64(`mask_axes_${window ?? 'full'}`, [1])],
        {},
        { hint: `mask5_${window ?? 'full'}` },
      ); // [B, 1, 1, S, T]
    masks.set(window, mask);
    return mask;
  };

  // RoPE tables [positions, half], gathered by position_ids → [B, S, 1, half].
  const ropeTable = (part: 'cos' | 'sin') => {
    const name = `rope.${part}_cache`;
    g.initializer(name, wdtype, [positions, half]);
    recipes.set(name, { kind: 'rope', part, positions, dtype: wdtype });
    return g.node(
      'Unsqueeze',
      [g.node('Gather', [name, positionIds], { axis: 0 }, { hint: `rope_${part}` }), g.i64(`rope_${part}_axes`, [2])],
      {},
      { hint: `rope_${part}4` },
    );
  };
  const cos = ropeTable('cos');
  const sin = ropeTable('sin');
  const halfSplit = g.i64(
    'rope_split',
    d.rotaryDim === d.headDim ? [half, half] : [half, half, d.headDim - d.rotaryDim],
  );
  const rope = (x: string, hint: string): string => {
    const parts = g.nodeN(
      'Split',
      [x, halfSplit],
      d.rotaryDim === d.headDim ? 2 : 3,
      { axis: -1 },
      { hint: `${hint}/split` },
    );
    const [x1, x2] = [parts[0]!, parts[1]!];
    const a = g.node('Sub', [g.node('Mul', [x1, cos]), g.node('Mul', [x2, sin])], {}, { hint: `${hint}/r1` });
    const b = g.node('Add', [g.node('Mul', [x2, cos]), g.node('Mul', [x1, sin])], {}, { hint: `${hint}/r2` });
    return g.node('Concat', [a, b, ...parts.slice(2)], { axis: -1 }, { hint });
  };

  // ---- embeddings
  const embedName = dense('model.embed_tokens.weight', [d.vocab, C]);
  let x = toF32(g.node('Gather', [embedName, inputIds], { axis: 0 }, { hint: 'embed' }), 'embed_f32');
  if (d.embedScale !== 1) x = g.node('Mul', [x, g.scalar('embed_scale', d.embedScale)], {}, { hint: 'embed_scaled' });

  const presents: { key: string; value: string }[] = [];
  const reshape = (v: string, dims: number[], hint: string) =>
    g.node('Reshape', [v, g.i64(`${hint}_shape`, dims)], {}, { hint });
  const attnScale = constAct('attn_scale', d.attnScale);

  for (let l = 0; l < d.layers; l++) {
    const p = `model.layers.${l}`;
    const norm = (v: string, name: string) =>
      rmsnorm(v, normWeight(`${p}.${name}.weight`, C, d.normPlusOne), `/${p}/${name}`);
    const path = (t: Proj) =>
      `${p}.${t === 'gate_proj' || t === 'up_proj' || t === 'down_proj' ? 'mlp' : 'self_attn'}.${t}`;

    // Attention.
    const h = toAct(norm(x, 'input_layernorm'), `/${p}/h16`);
    let qv: string, kvK: string, kvV: string;
    if (d.fused) {
      const parts = [
        { path: path('q_proj'), rowOffset: 0 },
        { path: path('k_proj'), rowOffset: q },
        { path: path('v_proj'), rowOffset: q + kv },
      ];
      const qkv = matmul(h, `${p}.self_attn.qkv_proj.weight`, q + 2 * kv, C, parts, `/${p}/attn/qkv`);
      [qv, kvK, kvV] = g.nodeN(
        'Split',
        [qkv, g.i64(`/${p}/qkv_split`, [q, kv, kv])],
        3,
        { axis: -1 },
        { hint: `/${p}/attn/qkv_split` },
      ) as [string, string, string];
    } else {
      const one = (t: Proj, n: number) => {
        let y = matmul(h, `${path(t)}.weight`, n, C, [{ path: path(t), rowOffset: 0 }], `/${p}/attn/${t}`);
        if (d.qkvBias) y = bias(y, `${path(t)}.bias`, n);
        return y;
      };
      [qv, kvK, kvV] = [one('q_proj', q), one('k_proj', kv), one('v_proj', kv)];
    }
    qv = branch(h, qv, path('q_proj'), C, q);
    kvK = branch(h, kvK, path('k_proj'), C, kv);
    kvV = branch(h, kvV, path('v_proj'), C, kv);
    let q4 = reshape(qv, [0, 0, d.heads, d.headDim], `/${p}/attn/q4`); // [B, S, H, D]
    let k4 = reshape(kvK, [0, 0, d.kvHeads, d.headDim], `/${p}/attn/k4`);
    const v4 = reshape(kvV, [0, 0, d.kvHeads, d.headDim], `/${p}/attn/v4`);
    if (d.qkNorm) {
      const qn = (v: string, name: string) =>
        toAct(
          rmsnorm(
            toF32(v, `/${p}/${name}_f32`),
            normWeight(`${p}.self_attn.${name}.weight`, d.headDim, false),
            `/${p}/${name}`,
          ),
          `/${p}/${name}_h`,
        );
      q4 = qn(q4, 'q_norm');
      k4 = qn(k4, 'k_norm');
    }
    q4 = g.node('Mul', [rope(q4, `/${p}/attn/q_rope`), attnScale], {}, { hint: `/${p}/attn/q_scaled` });
    k4 = rope(k4, `/${p}/attn/k_rope`);
    const perm = [0, 2, 1, 3];
    const qT = g.node('Transpose', [q4], { perm }, { hint: `/${p}/attn/qT` }); // [B, H, S, D]
    const kNew = g.node('Transpose', [k4], { perm }, { hint: `/${p}/attn/kT` }); // [B, Hkv, S, D]
    const vNew = g.node('Transpose', [v4], { perm }, { hint: `/${p}/attn/vT` });
    const presentK = g.node('Concat', [past[l]!.key, kNew], { axis: 2 }, { hint: `/${p}/attn/present_k` }); // [B, Hkv, T, D]
    const presentV = g.node('Concat', [past[l]!.value, vNew], { axis: 2 }, { hint: `/${p}/attn/present_v` });
    presents.push({ key: presentK, value: presentV });

    let qG = qT;
    let kG = presentK;
    let vG = presentV;
    if (G > 1) {
      qG = reshape(qT, [0, d.kvHeads, G, -1, d.headDim], `/${p}/attn/q5`); // [B, Hkv, G, S, D]
      const ax = g.i64(`/${p}/attn/kv_axes`, [2]);
      kG = g.node('Unsqueeze', [presentK, ax], {}, { hint: `/${p}/attn/k5` }); // [B, Hkv, 1, T, D]
      vG = g.node('Unsqueeze', [presentV, ax], {}, { hint: `/${p}/attn/v5` });
    }
    const kPerm = G > 1 ? [0, 1, 2, 4, 3] : [0, 1, 3, 2];
    const kT = g.node('Transpose', [kG], { perm: kPerm }, { hint: `/${p}/attn/k_t` });
    let scores = toF32(g.node('MatMul', [qG, kT], {}, { hint: `/${p}/attn/scores` }), `/${p}/attn/scores_f32`);
    if (d.attnSoftcap) {
      const c = d.attnSoftcap;
      scores = g.node(
        'Mul',
        [g.node('Tanh', [g.node('Mul', [scores, g.scalar(`/${p}/cap_inv`, 1 / c)])]), g.scalar(`/${p}/cap`, c)],
        {},
        { hint: `/${p}/attn/softcap` },
      );
    }
    scores = g.node('Add', [scores, maskFor(d.windowPerLayer[l] ?? null)], {}, { hint: `/${p}/attn/masked` });
    const probs = toAct(g.node('Softmax', [scores], { axis: -1 }, { hint: `/${p}/attn/probs` }), `/${p}/attn/probs_h`);
    let ctx = g.node('MatMul', [probs, vG], {}, { hint: `/${p}/attn/ctx` });
    if (G > 1) ctx = reshape(ctx, [0, d.heads, -1, d.headDim], `/${p}/attn/ctx4`);
    ctx = reshape(g.node('Transpose', [ctx], { perm }, { hint: `/${p}/attn/ctxT` }), [0, 0, q], `/${p}/attn/ctx2`);
    let attnOut = branch(
      ctx,
      matmul(ctx, `${path('o_proj')}.weight`, C, q, [{ path: path('o_proj'), rowOffset: 0 }], `/${p}/attn/o_proj`),
      path('o_proj'),
      q,
      C,
    );
    attnOut = toF32(attnOut, `/${p}/attn/out_f32`);
    if (d.sandwichNorms) attnOut = norm(attnOut, 'post_attention_layernorm');
    x = g.node('Add', [x, attnOut], {}, { hint: `/${p}/attn_residual` });

    // MLP.
    const m = toAct(norm(x, d.sandwichNorms ? 'pre_feedforward_layernorm' : 'post_attention_layernorm'), `/${p}/m16`);
    const I = d.intermediate;
    let gate: string, up: string;
    if (d.fused) {
      const gu = matmul(
        m,
        `${p}.mlp.gate_up_proj.weight`,
        2 * I,
        C,
        [
          { path: path('gate_proj'), rowOffset: 0 },
          { path: path('up_proj'), rowOffset: I },
        ],
        `/${p}/mlp/gate_up`,
      );
      [gate, up] = g.nodeN(
        'Split',
        [gu, g.i64(`/${p}/gate_up_split`, [I, I])],
        2,
        { axis: -1 },
        { hint: `/${p}/mlp/gate_up_split` },
      ) as [string, string];
    } else {
      gate = matmul(
        m,
        `${path('gate_proj')}.weight`,
        I,
        C,
        [{ path: path('gate_proj'), rowOffset: 0 }],
        `/${p}/mlp/gate`,
      );
      up = matmul(m, `${path('up_proj')}.weight`, I, C, [{ path: path('up_proj'), rowOffset: 0 }], `/${p}/mlp/up`);
    }
    gate = branch(m, gate, path('gate_proj'), C, I);
    up = branch(m, up, path('up_proj'), C, I);
    let a: string;
    if (d.activation === 'silu') a = g.node('Mul', [gate, g.node('Sigmoid', [gate])], {}, { hint: `/${p}/mlp/silu` });
    else {
      // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
      const x3 = g.node('Mul', [gate, g.node('Mul', [gate, gate])]);
      const inner = g.node('Mul', [
        g.node('Add', [gate, g.node('Mul', [x3, constAct(`/${p}/gelu_c`, 0.044715)])]),
        constAct(`/${p}/gelu_k`, Math.sqrt(2 / Math.PI)),
      ]);
      const t = g.node('Add', [g.node('Tanh', [inner]), constAct(`/${p}/gelu_one`, 1)]);
      a = g.node('Mul', [g.node('Mul', [gate, t]), constAct(`/${p}/gelu_half`, 0.5)], {}, { hint: `/${p}/mlp/gelu` });
    }
    const glu = g.node('Mul', [a, up], {}, { hint: `/${p}/mlp/glu` });
    let down = branch(
      glu,
      matmul(glu, `${path('down_proj')}.weight`, C, I, [{ path: path('down_proj'), rowOffset: 0 }], `/${p}/mlp/down`),
      path('down_proj'),
      I,
      C,
    );
    down = toF32(down, `/${p}/mlp/down_f32`);
    if (d.sandwichNorms) down = norm(down, 'post_feedforward_layernorm');
    x = g.node('Add', [x, down], {}, { hint: `/${p}/mlp_residual` });
  }

  // ---- head: the last num_logits_to_keep positions (all when 0)
  const isZero = g.node('Equal', [logitsToKeep, g.i64('keep_zero', [0], [])], {}, { hint: 'keep_all' });
  const start = g.node(
    'Where',
    [isZero, g.i64('keep_start0', [0], []), g.node('Sub', [scalarOf(seqLen, 'seq_scalar'), logitsToKeep])],
    {},
    { hint: 'keep_start' },
  );
  const kept = g.node(
    'Slice',
    [x, g.node('Unsqueeze', [start, g.i64('keep_axes', [0])]), g.i64('keep_end', [INT64_MAX]), g.i64('keep_axis', [1])],
    {},
    { hint: 'kept' },
  );
  const hFinal = toAct(rmsnorm(kept, normWeight('model.norm.weight', C, d.normPlusOne), '/model/norm'), 'final_h');
  let logits: string;
  if (o.variant === 'q4' && !d.tieEmbeddings) logits = matmul(hFinal, 'lm_head.weight', d.vocab, C, [], 'lm_head');
  else {
    // Gemm with transB reads the [V, C] table as stored, shared with the embedding when tied (q4 included: the
    // embedding is float anyway, so a tied head costs no extra bytes and keeps full precision).
    const head = d.tieEmbeddings ? embedName : dense('lm_head.weight', [d.vocab, C]);
    const flat = reshape(hFinal, [-1, C], 'head_in');
    const y = g.node('Gemm', [flat, head], { transB: 1 }, { hint: 'lm_head_2d' });
    const outShape = g.node(
      'Concat',
      [shapeOf(hFinal, 0, 2, 'head_bs'), g.i64('vocab', [d.vocab])],
      { axis: 0 },
      { hint: 'logits_shape' },
    );
    logits = g.node('Reshape', [y, outShape], {}, { hint: 'lm_head' });
  }
  logits = toF32(logits, 'logits_f32');
  if (d.finalSoftcap) {
    const c = d.finalSoftcap;
    logits = g.node(
      'Mul',
      [g.node('Tanh', [g.node('Mul', [logits, g.scalar('final_cap_inv', 1 / c)])]), g.scalar('final_cap', c)],
      {},
      { hint: 'logits_softcap' },
    );
  }
  g.output(logits, 'logits', 'float32', ['batch_size', 'sequence_length', d.vocab]);
  for (let l = 0; l < d.layers; l++) {
    const shape = ['batch_size', d.kvHeads, 'total_sequence_length', d.headDim];
    g.output(presents[l]!.key, `present.${l}.key`, act, shape);
    g.output(presents[l]!.value, `present.${l}.value`, act, shape);
  }
  const opsets: OnnxOpset[] = [{ domain: '', version: 17 }];
  if (o.variant === 'q4') opsets.push({ domain: CONTRIB_DOMAIN, version: 1 });
  return { graph: g, recipes, opsets, kvDtype: act };
}
