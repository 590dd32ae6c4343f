/** The ids generation stops on: config.json's eos, generation_config.json's eos (a number or a list) and the tokenizer's. */
import { z } from 'zod';
import type { ModelDescription } from './config.ts';

const GenerationConfigSchema = z
  .object({ eos_token_id: z.union([z.number().int(), z.array(z.number().int())]).nullish() })
  .passthrough();

export function stopTokenIds(
  d: ModelDescription,
  generationConfigText: string | null,
  tokenizerEos: number | null,
): number[] {
  const ids = new Set<number>(d.eosTokenIds);
  if (generationConfigText) {
    const parsed = GenerationConfigSchema.safeParse(JSON.parse(generationConfigText));
    if (!parsed.success) throw new Error('generation_config.json: eos_token_id must be a token id or a list of them.');
    const e = parsed.data.eos_token_id;
    for (const id of e == null ? [] : Array.isArray(e) ? e : [e]) ids.add(id);
  }
  if (tokenizerEos !== null) ids.add(tokenizerEos);
  return [...ids].sort((a, b) => a - b);
}
