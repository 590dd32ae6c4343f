/**
 * Facts about a model's tensors that several layers share (schema, model, formats, train, worker, UI): the
 * projections LoRA can adapt and the dense dtypes weights, adapters and exports are written in.
 */
import { z } from 'zod';

/** The seven projections of a decoder block that take an adapter (phi3's fused ones are split first). */
export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export const LoraTargetSchema = z.enum(LORA_TARGETS);
export type LoraTarget = z.infer<typeof LoraTargetSchema>;

/** The 16/32-bit floating-point dtypes of stored weights, adapters and exports. */
export const DenseDtypeSchema = z.enum(['f32', 'f16', 'bf16']);
export type DenseDtype = z.infer<typeof DenseDtypeSchema>;

/** How the base model's projections are held during training and generation: as stored, or quantized (nf4 = QLoRA). */
export const QuantChoiceSchema = z.enum(['none', 'q8_0', 'q4_0', 'nf4']);
export type QuantChoice = z.infer<typeof QuantChoiceSchema>;
