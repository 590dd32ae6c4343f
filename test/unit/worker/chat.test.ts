/** The host side of "Try it": the prompt through the chat template (system folded where refused), adapters as PEFT. */
import { describe, expect, it } from 'vitest';
import { ModelTokenizer } from '../../../src/data/tokenizer.ts';
import { asPeftAdapter, promptIds } from '../../../src/worker/chat.ts';
import { buildFixtureTokenizer } from '../../fixtures/tokenizer.ts';

const tokenizer = (template: 'chatml' | 'gemma' | 'llama3') => new ModelTokenizer(buildFixtureTokenizer(template, 120));

describe('chat prompts', () => {
  it('render the chat template with the generation prompt, with an optional system turn', () => {
    const tok = tokenizer('chatml');
    const text = tok.decode(promptIds(tok, 'hello there', 'be brief'));
    expect(text).toContain('<|im_start|>system\nbe brief<|im_end|>');
    expect(text).toContain('<|im_start|>user\nhello there<|im_end|>');
    expect(text.endsWith('<|im_start|>assistant\n')).toBe(true);
    // A blank system prompt is left out: the template's own default (Qwen's) applies.
    expect(tok.decode(promptIds(tok, 'hi', '   '))).not.toContain('<|im_start|>system\n   ');
  });

  it('fold the system prompt into the user turn when the template refuses a system role (Gemma)', () => {
    const tok = tokenizer('gemma');
    const text = tok.decode(promptIds(tok, 'hello', 'be brief'));
    expect(text).toContain('<start_of_turn>user\nbe brief\n\nhello<end_of_turn>');
    expect(text.endsWith('<start_of_turn>model\n')).toBe(true);
  });
});

describe('adapters for chat', () => {
  it('become a PEFT adapter with the same modules, rank and scaling', () => {
    const A = new Float32Array(4 * 8).fill(0.5);
    const B = new Float32Array(16 * 4).fill(0.25);
    const peft = asPeftAdapter({
      rank: 4,
      alpha: 16,
      dropout: 0,
      rslora: true,
      targetModules: ['q_proj'],
      layersToTransform: null,
      baseModel: 'tiny/llama',
      modules: [{ path: 'model.layers.0.self_attn.q_proj', inFeatures: 8, outFeatures: 16, A, B }],
    });
    expect(peft.rank).toBe(4);
    expect(peft.scaling).toBeCloseTo(16 / 2);
    expect(peft.config.use_rslora).toBe(true);
    expect(peft.modules.get('model.layers.0.self_attn.q_proj')).toMatchObject({ inFeatures: 8, outFeatures: 16, A, B });
  });
});
