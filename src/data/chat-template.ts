/**
 * Chat templates: the Jinja `chat_template` of tokenizer_config.json (or chat_template.jinja),
 * rendered with @huggingface/jinja (trim_blocks and lstrip_blocks on, `raise_exception` and
 * `strftime_now` defined) the way Python transformers' `apply_chat_template` renders it — with
 * Python's `strip/lstrip/rstrip(chars)` and `trim` (jinja-python.ts), which the library gets wrong, and
 * within a step / depth / size budget (template-budget.ts): a template is untrusted code from the model folder.
 *
 * Templates that refuse a system turn (Gemma 2, Gemma 1) get it folded into the first user turn
 * the way Gemma 3's own template does; `renderFolded` is the one place that decides it, for
 * training, evaluation and sampling alike.
 */
import { Template } from '@huggingface/jinja';
import type { Message } from '../schema/dataset.ts';
import { PYTHON_STRING_GLOBALS, pythonStrip, pythonStringTemplate } from './jinja-python.ts';
import { renderBounded, TemplateRaisedError } from './template-budget.ts';

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
    /** Where the template came from, for messages (e.g. "tokenizer_config.json chat_template"). */
    readonly origin = 'the chat template',
  ) {
    try {
      this.template = pythonStringTemplate(new Template(source));
    } catch (err) {
      throw new ChatTemplateError(
        `cannot parse the chat template (${origin}): ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  /** Renders a conversation; template errors (raise_exception) become ChatTemplateError. */
  render(messages: Message[], opts: RenderOptions = {}): string {
    try {
      return renderBounded(this.template, {
        ...PYTHON_STRING_GLOBALS,
        ...this.tokens,
        ...opts.extra,
        messages: messages.map((m) => ({ role: m.role, content: m.content })),
        add_generation_prompt: opts.addGenerationPrompt ?? false,
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // A raise_exception message is the template's own words; anything else names where the template is.
      throw new ChatTemplateError(err instanceof TemplateRaisedError ? message : `${this.origin}: ${message}`);
    }
  }
}

/** A rendered conversation and the messages it was rendered from (the folded ones when a fold was needed). */
export interface RenderedChat {
  text: string;
  messages: Message[];
  /** True when the template refused the system turn and it was folded into the first user turn. */
  systemFolded: boolean;
}

/**
 * Gemma 3's template folds a leading system message into the first user turn: the user turn's text
 * is `system + '\n\n' + user.strip()` (the system text as it is, the user text trimmed the Python
 * way). Gemma 2 and Gemma 1 refuse a system turn instead; this gives their templates the same
 * folded first user message. Their templates `trim` every content once more, so the only difference
 * left from Gemma 3's text is a system prompt that starts with whitespace: Gemma 2 strips it.
 * Null when there is nothing to fold (no leading system message, or no user message right after it).
 */
export function foldSystemIntoFirstUser(messages: Message[]): Message[] | null {
  const [system, first, ...rest] = messages;
  if (system?.role !== 'system' || first?.role !== 'user') return null;
  return [{ role: 'user', content: `${system.content}\n\n${pythonStrip(first.content, null)}` }, ...rest];
}

/**
 * Renders a conversation; when the template refuses it (a ChatTemplateError) and it starts with a
 * system message, renders the fold of foldSystemIntoFirstUser instead. Throws the template's
 * original error when folding does not help.
 */
export function renderFolded(template: ChatTemplate, messages: Message[], opts: RenderOptions = {}): RenderedChat {
  try {
    return { text: template.render(messages, opts), messages, systemFolded: false };
  } catch (err) {
    const folded = err instanceof ChatTemplateError ? foldSystemIntoFirstUser(messages) : null;
    if (!folded) throw err;
    try {
      return { text: template.render(folded, opts), messages: folded, systemFolded: true };
    } catch {
      throw err;
    }
  }
}
