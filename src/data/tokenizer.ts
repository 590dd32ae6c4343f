/**
 * A model's tokenizer: `tokenizer.json` + `tokenizer_config.json` through @huggingface/tokenizers,
 * plus its chat template, special tokens and token byte offsets. Browser-safe (no node: imports);
 * the model engine and the trainer reuse it.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import type { Message } from '../schema/dataset.ts';
import {
  ChatTemplate,
  pickChatTemplate,
  renderFolded,
  type RenderedChat,
  type RenderOptions,
} from './chat-template.ts';
import { alignTokenBytes, TokenByteMap, type TokenizerJsonLike } from './token-bytes.ts';
import { checkTokenizerJson, checkTokenizerRegexes, TokenizerFileError } from './tokenizer-check.ts';

export interface TokenizerFiles {
  /** Parsed tokenizer.json. */
  tokenizer: object;
  /** Parsed tokenizer_config.json. */
  config: object;
  /** Contents of chat_template.jinja (or chat_template.json) when the model ships one. */
  chatTemplate?: string | null;
  /** The file `chatTemplate` came from, for messages (default chat_template.jinja). */
  chatTemplateFile?: string;
}

interface AddedTokenJson {
  id: number;
  content: string;
  special?: boolean;
}

const SPECIAL_KEYS = [
  'bos_token',
  'eos_token',
  'unk_token',
  'pad_token',
  'sep_token',
  'cls_token',
  'mask_token',
] as const;

/** tokenizer_config.json writes special tokens as a string or as {"content": ...}. */
function tokenString(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && 'content' in value) {
    const c = (value as { content: unknown }).content;
    return typeof c === 'string' ? c : null;
  }
  return null;
}

export class ModelTokenizer {
  readonly tokenizer: Tokenizer;
  readonly template: ChatTemplate | null;
  /** bos_token, eos_token, ... as strings (absent when the config has none). */
  readonly specialTokens: Partial<Record<(typeof SPECIAL_KEYS)[number], string>>;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  /** Added tokens that are special (control tokens like <|im_end|>), longest first. */
  readonly specialAdded: { id: number; content: string }[];
  readonly bytes: TokenByteMap;

  constructor(files: TokenizerFiles) {
    const json = files.tokenizer as TokenizerJsonLike & { added_tokens?: AddedTokenJson[] };
    const config = files.config as Record<string, unknown>;
    checkTokenizerJson(files.tokenizer);
    try {
      this.tokenizer = new Tokenizer(files.tokenizer, files.config);
    } catch (err) {
      throw new TokenizerFileError(
        'tokenizer.json',
        `cannot be read as a tokenizer: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    checkTokenizerRegexes(this.tokenizer);
    const specials: Partial<Record<(typeof SPECIAL_KEYS)[number], string>> = {};
    for (const key of SPECIAL_KEYS) {
      const s = tokenString(config[key]);
      if (s !== null) specials[key] = s;
    }
    this.specialTokens = specials;
    const added = json.added_tokens ?? [];
    this.specialAdded = added
      .filter((t) => t.special !== false)
      .map((t) => ({ id: t.id, content: t.content }))
      .sort((a, b) => b.content.length - a.content.length);
    this.bosTokenId =
      specials.bos_token !== undefined ? (this.tokenizer.token_to_id(specials.bos_token) ?? null) : null;
    this.eosTokenId =
      specials.eos_token !== undefined ? (this.tokenizer.token_to_id(specials.eos_token) ?? null) : null;
    const source = pickChatTemplate(config.chat_template, files.chatTemplate);
    const origin =
      typeof files.chatTemplate === 'string' && files.chatTemplate.trim() !== ''
        ? (files.chatTemplateFile ?? 'chat_template.jinja')
        : 'tokenizer_config.json chat_template';
    this.template = source === null ? null : new ChatTemplate(source, specials as Record<string, string>, origin);
    this.bytes = new TokenByteMap(
      json,
      (id) => this.tokenizer.id_to_token(id),
      new Map(added.map((t) => [t.id, t.content])),
    );
  }

  /** Token ids of `text`. `addSpecialTokens` applies the post-processor (e.g. Llama 3's BOS). */
  encode(text: string, addSpecialTokens = false): number[] {
    if (text === '') return addSpecialTokens ? this.tokenizer.encode('', { add_special_tokens: true }).ids : [];
    return this.tokenizer.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  }

  decode(ids: number[], skipSpecialTokens = false): string {
    if (ids.length === 0) return '';
    return this.tokenizer.decode(ids, { skip_special_tokens: skipSpecialTokens, clean_up_tokenization_spaces: false });
  }

  /** Renders a conversation with the chat template. */
  renderChat(messages: Message[], opts?: RenderOptions): string {
    return this.chatTemplate().render(messages, opts);
  }

  /**
   * Renders a conversation, folding a system turn the template refuses into the first user turn
   * (chat-template.ts `renderFolded`): what training, evaluation and sampling all render.
   */
  renderChatFolded(messages: Message[], opts?: RenderOptions): RenderedChat {
    return renderFolded(this.chatTemplate(), messages, opts);
  }

  private chatTemplate(): ChatTemplate {
    if (!this.template) throw new Error('this tokenizer has no chat template');
    return this.template;
  }

  /** The special added token that `text` starts with at `index`, if any (longest match). */
  specialTokenAt(text: string, index: number): { id: number; content: string } | null {
    return this.specialAdded.find((t) => t.content.length > 0 && text.startsWith(t.content, index)) ?? null;
  }

  /**
   * Each token's [start, end) UTF-8 byte range in `text` (ids must be the encoding of `text`),
   * or null when the tokenizer rewrites the text so that bytes cannot be matched.
   */
  byteOffsets(ids: number[], text: string): { starts: Int32Array; ends: Int32Array } | null {
    return alignTokenBytes(
      ids.map((id) => this.bytes.bytes(id)),
      new TextEncoder().encode(text),
    );
  }
}

/** Reads a tokenizer from a model folder through `read(name)` (null when the file is absent). */
export async function loadTokenizer(read: (name: string) => Promise<string | null>): Promise<ModelTokenizer> {
  const tokenizerText = await read('tokenizer.json');
  if (tokenizerText === null) throw new Error('the model folder has no tokenizer.json');
  const configText = await read('tokenizer_config.json');
  const jinja = await read('chat_template.jinja');
  const chatTemplate = jinja ?? (await read('chat_template.json'));
  const config = configText === null ? {} : parseJsonFile(configText, 'tokenizer_config.json');
  if (typeof config !== 'object' || config === null || Array.isArray(config))
    throw new TokenizerFileError('tokenizer_config.json', 'is not a JSON object');
  return new ModelTokenizer({
    tokenizer: parseJsonFile(tokenizerText, 'tokenizer.json') as object,
    config,
    chatTemplate,
    chatTemplateFile: jinja !== null ? 'chat_template.jinja' : 'chat_template.json',
  });
}

function parseJsonFile(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new TokenizerFileError(file, `is not valid JSON (${(err as Error).message})`);
  }
}
