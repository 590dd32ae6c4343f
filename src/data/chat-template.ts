/**
 * Chat templates: the Jinja `chat_template` of tokenizer_config.json (or chat_template.jinja),
 * rendered with @huggingface/jinja (trim_blocks and lstrip_blocks on, `raise_exception` and
 * `strftime_now` defined) the way Python transformers' `apply_chat_template` renders it — with
 * Python's `strip/lstrip/rstrip(chars)` and `trim` (jinja-python.ts), which the library gets wrong.
 */
import { Template } from '@huggingface/jinja';
import type { Message } from '../schema/dataset.ts';
import { PYTHON_STRING_GLOBALS, pythonStringTemplate } from './jinja-python.ts';

export class ChatTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChatTemplateError';
  }
}

/** Special-token strings passed to the template (bos_token, eos_token, ...). */
export type TemplateTokens = Record<string, string>;

export interface RenderOptions {
  /** Append the assistant header so the model writes the answer (inference), default false. */
  addGenerationPrompt?: boolean;
  /** Further template variables (tools, documents, enable_thinking, date_string, ...). */
  extra?: Record<string, unknown>;
}

/**
 * Picks the template text from tokenizer_config.json's `chat_template` (a string, or a list of
 * {name, template} where "default" wins) or a separate chat_template.jinja / chat_template.json.
 */
export function pickChatTemplate(configTemplate: unknown, separate?: string | null): string | null {
  if (typeof separate === 'string' && separate.trim() !== '') {
    const s = separate.trim();
    if (s.startsWith('{') && s.includes('"chat_template"')) {
      try {
        const parsed: unknown = JSON.parse(s);
        if (typeof parsed === 'object' && parsed !== null && 'chat_template' in parsed) {
          return pickChatTemplate((parsed as { chat_template: unknown }).chat_template);
        }
      } catch {
        // not JSON: a Jinja template that happens to start with '{'
      }
    }
    return separate;
  }
  if (typeof configTemplate === 'string') return configTemplate;
  if (Array.isArray(configTemplate)) {
    const named = configTemplate.filter(
      (t): t is { name: string; template: string } =>
        typeof t === 'object' && t !== null && typeof t.name === 'string' && typeof t.template === 'string',
    );
    return (named.find((t) => t.name === 'default') ?? named[0])?.template ?? null;
  }
  return null;
}

export class ChatTemplate {
  private readonly template: Template;

  constructor(
    readonly source: string,
    private readonly tokens: TemplateTokens,
  ) {
    try {
      this.template = pythonStringTemplate(new Template(source));
    } catch (err) {
      throw new ChatTemplateError(
        `cannot parse the chat template: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  /** Renders a conversation; template errors (raise_exception) become ChatTemplateError. */
  render(messages: Message[], opts: RenderOptions = {}): string {
    try {
      return this.template.render({
        ...PYTHON_STRING_GLOBALS,
        ...this.tokens,
        ...opts.extra,
        messages: messages.map((m) => ({ role: m.role, content: m.content })),
        add_generation_prompt: opts.addGenerationPrompt ?? false,
      });
    } catch (err) {
      throw new ChatTemplateError(err instanceof Error ? err.message : String(err));
    }
  }
}

/**
 * Templates that refuse a system turn (Gemma 2) get it folded into the first user turn,
 * separated by a blank line — what Gemma 3's own template does.
 */
export function foldSystemIntoFirstUser(messages: Message[]): Message[] | null {
  if (messages[0]?.role !== 'system') return null;
  const rest = messages.slice(1);
  const firstUser = rest.findIndex((m) => m.role === 'user');
  if (firstUser < 0) return null;
  return rest.map((m, i) =>
    i === firstUser ? { role: 'user', content: `${messages[0]!.content}\n\n${m.content}` } : m,
  );
}
