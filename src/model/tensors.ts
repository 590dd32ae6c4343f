/**
 * The tensors a Hugging Face checkpoint of each architecture holds: names and [rows, cols] shapes.
 * The loader checks a checkpoint against this list; fixtures and the reference model are built from it.
 */
import type { ModelDescription } from './config.ts';

export interface TensorSpec {
  name: string;
  shape: number[];
  kind: 'embedding' | 'head' | 'projection' | 'bias' | 'norm';
}

export function expectedTensors(d: ModelDescription): TensorSpec[] {
  const q = d.heads * d.headDim;
  const kv = d.kvHeads * d.headDim;
  const out: TensorSpec[] = [{ name: 'model.embed_tokens.weight', shape: [d.vocab, d.hidden], kind: 'embedding' }];
  const norm = (name: string, size = d.hidden) => out.push({ name, shape: [size], kind: 'norm' });
  for (let l = 0; l < d.layers; l++) {
    const p = `model.layers.${l}`;
    const lin = (name: string, rows: number, cols: number) =>
      out.push({ name: `${p}.${name}.weight`, shape: [rows, cols], kind: 'projection' });
    norm(`${p}.input_layernorm.weight`);
    if (d.fused) lin('self_attn.qkv_proj', q + 2 * kv, d.hidden);
    else {
      lin('self_attn.q_proj', q, d.hidden);
      lin('self_attn.k_proj', kv, d.hidden);
      lin('self_attn.v_proj', kv, d.hidden);
    }
    if (d.qkvBias) {
      for (const [n, size] of [
        ['q_proj', q],
        ['k_proj', kv],
        ['v_proj', kv],
      ] as const)
        out.push({ name: `${p}.self_attn.${n}.bias`, shape: [size], kind: 'bias' });
    }
    if (d.qkNorm) {
      norm(`${p}.self_attn.q_norm.weight`, d.headDim);
      norm(`${p}.self_attn.k_norm.weight`, d.headDim);
    }
    lin('self_attn.o_proj', d.hidden, q);
    norm(`${p}.post_attention_layernorm.weight`);
    if (d.sandwichNorms) {
      norm(`${p}.pre_feedforward_layernorm.weight`);
      norm(`${p}.post_feedforward_layernorm.weight`);
    }
    if (d.fused) lin('mlp.gate_up_proj', 2 * d.intermediate, d.hidden);
    else {
      lin('mlp.gate_proj', d.intermediate, d.hidden);
      lin('mlp.up_proj', d.intermediate, d.hidden);
    }
    lin('mlp.down_proj', d.hidden, d.intermediate);
  }
  norm('model.norm.weight');
  if (!d.tieEmbeddings) out.push({ name: 'lm_head.weight', shape: [d.vocab, d.hidden], kind: 'head' });
  return out;
}

/** Module paths that can carry a LoRA adapter (PEFT names), per layer. */
export function loraModulePaths(d: ModelDescription, layer: number, targets: readonly string[]): string[] {
  const p = `model.layers.${layer}`;
  const attn = d.fused ? ['qkv_proj', 'o_proj'] : ['q_proj', 'k_proj', 'v_proj', 'o_proj'];
  const mlp = d.fused ? ['gate_up_proj', 'down_proj'] : ['gate_proj', 'up_proj', 'down_proj'];
  return [...attn.map((n) => `${p}.self_attn.${n}`), ...mlp.map((n) => `${p}.mlp.${n}`)].filter((path) => {
    const short = path.slice(path.lastIndexOf('.') + 1);
    return (
      targets.includes(short) ||
      (short === 'qkv_proj' && targets.some((t) => ['q_proj', 'k_proj', 'v_proj'].includes(t))) ||
      (short === 'gate_up_proj' && targets.some((t) => ['gate_proj', 'up_proj'].includes(t)))
    );
  });
}
