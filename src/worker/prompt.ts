/**
 * The prompt of a Try-page answer as token ids, shared by the engine's chat (src/worker/chat.ts) and the
 * onnxruntime-web check (src/worker/onnx-check.ts), so both read exactly the same tokens.
 */
import type { ModelTokenizer } from '../data/tokenizer.ts';
import type { Message } from '../schema/dataset.ts';
import { HintedError } from './hinted.ts';

/** The prompt's token ids: the chat template with a generation prompt (system folded in where refused), else plain text. */
export function promptIds(tokenizer: ModelTokenizer, prompt: string, system?: string): number[] {
  const sys = system?.trim();
  if (!tokenizer.template) return tokenizer.encode(sys ? `${sys}\n\n${prompt}` : prompt, true);
  const messages: Message[] = sys
    ? [
        { role: 'system', content: sys },
        { role: 'user', content: prompt },
      ]
    : [{ role: 'user', content: prompt }];
  let text: string;
  try {
    text = tokenizer.renderChatFolded(messages, { addGenerationPrompt: true }).text;
  } catch (err) {
    throw new HintedError(
      `The model's chat template failed: ${(err as Error).message}`,
      'Try without a system prompt.',
    );
  }
  return tokenizer.encode(text, false);
}
