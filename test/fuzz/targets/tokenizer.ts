/**
 * tokenizer.json and chat-template targets: the tiny llama's tokenizer.json (JSON edits, malformed merges and
 * added_tokens, a BPE vocab given as an array, catastrophic pre-tokenizer regexes) or its chat template
 * (tokenizer_config.json's chat_template or chat_template.jinja: loops of a billion steps, recursion, string growth,
 * broken syntax); read by `cli data CHAT.jsonl --model DIR` (tokenizes and renders every row).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Rng } from '../../harness/rng.ts';
import { mutateJson, mutateText, pick } from '../mutate.ts';
import type { Corpus, FuzzCase, FuzzTarget } from '../target.ts';
import { copySeed } from './common.ts';

const TOKENIZER_FILES = (f: string) =>
  /^(config\.json|tokenizer\.json|tokenizer_config\.json|chat_template\.jinja)$/.test(f);

/** Regexes with catastrophic backtracking (or just odd ones) for Split / Replace patterns. */
const REGEXES = [
  '(a+)+$',
  '(\\s*)*$',
  '(\\w+\\s?)*$',
  '(.*a){25}',
  '([a-zA-Z]+)*[0-9]',
  '(x+x+)+y',
  '(\\p{L}|\\p{L}\\p{L})+$',
  '(?:\\s|\\s)+\\S',
  '((((((((((a*)*)*)*)*)*)*)*)*)*)*b',
  '[',
  '(?<=',
  '\\',
  '',
  '.',
];

function tokenizerEdit(rng: Rng, tok: Record<string, unknown>): string {
  const model = tok.model as Record<string, unknown>;
  switch (rng.int(0, 7)) {
    case 0: {
      const pattern = pick(rng, REGEXES);
      tok.pre_tokenizer = {
        type: 'Sequence',
        pretokenizers: [
          { type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false },
          tok.pre_tokenizer,
        ],
      };
      return `pre-tokenizer regex ${JSON.stringify(pattern)}`;
    }
    case 1: {
      const merges = model.merges as unknown[];
      const i = rng.int(0, merges.length);
      merges[i] = pick(rng, [['a'], 'onlyone', ['a', 'b', 'c'], 42, null, ['zz\u0000', 'q'], '', { a: 1 }]);
      return `merges[${i}] = ${JSON.stringify(merges[i])}`;
    }
    case 2: {
      const added = (tok.added_tokens as Record<string, unknown>[] | undefined) ?? [];
      const i = rng.int(0, Math.max(1, added.length));
      const bad = pick<unknown>(rng, [
        { id: 1e9, content: '<x>', special: true },
        { id: -1, content: '<y>' },
        { content: '<z>' },
        { id: 3, content: 7 },
        null,
        'token',
        { id: 2 ** 53, content: '' },
      ]);
      added.splice(i, 0, bad as Record<string, unknown>);
      tok.added_tokens = added;
      return `added_tokens[${i}] = ${JSON.stringify(bad)}`;
    }
    case 3:
      model.vocab = Object.keys(model.vocab as Record<string, number>).map((k) => [k, 0]);
      return 'BPE vocab as an array';
    case 4: {
      const vocab = model.vocab as Record<string, number>;
      const k = pick(rng, Object.keys(vocab));
      vocab[k] = pick(rng, [1e9, -1, 2 ** 53, 0.5]);
      return `vocab[${JSON.stringify(k)}] = ${vocab[k]}`;
    }
    case 5:
      model.type = pick(rng, ['Unigram', 'WordPiece', 'WordLevel', 'Nope', 7]);
      return `model.type = ${String(model.type)}`;
    default:
      tok.normalizer = { type: 'Replace', pattern: { Regex: pick(rng, REGEXES) }, content: 'x' };
      return 'normalizer Replace with a regex';
  }
}

function dataCase(model: string, data: string, file: string, note: string): FuzzCase {
  return { argv: ['data', data, '--model', model, '--json'], files: [file], note };
}

export const tokenizerTarget: FuzzTarget<Corpus> = {
  name: 'tokenizer-json',
  description:
    'tokenizer.json: JSON edits, malformed merges / added_tokens, vocab as array, bad regexes; cli data --model',
  prepare: async (corpus) => corpus,
  async seedCase(corpus, dir) {
    const model = await copySeed(corpus.model, dir, 'model', TOKENIZER_FILES);
    return dataCase(model, corpus.chatData, 'model/tokenizer.json', 'seed');
  },
  async makeCase(corpus, rng, dir): Promise<FuzzCase> {
    const model = await copySeed(corpus.model, dir, 'model', TOKENIZER_FILES);
    const path = join(model, 'tokenizer.json');
    const text = await readFile(path, 'utf8');
    let note: string;
    if (rng.next() < 0.6) {
      const tok = JSON.parse(text) as Record<string, unknown>;
      note = tokenizerEdit(rng, tok);
      await writeFile(path, JSON.stringify(tok));
    } else {
      const m = mutateJson(rng, text);
      await writeFile(path, m.text);
      note = m.note;
    }
    return dataCase(model, corpus.chatData, 'model/tokenizer.json', note);
  },
};

/** Template fragments: loops and growth that must end within the render budget, recursion, broken syntax. */
const TEMPLATE_FRAGMENTS = [
  '{% for i in range(1000000000) %}x{% endfor %}',
  '{% for i in range(100000) %}{% for j in range(100000) %}{{ i }}{% endfor %}{% endfor %}',
  "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
  '{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}',
  '{{ messages[0].content | indent(400000000) }}',
  "{{ 'x' | center(300000000) }}",
  '{% for m in messages %}{% for m2 in messages %}{% for m3 in messages %}{{ m3.content }}{% endfor %}{% endfor %}{% endfor %}',
  '{{ raise_exception("refused by the template") }}',
  '{% if %}',
  '{{ messages[1e9] }}',
  '{% for',
  '{{ 1 / 0 }}',
  '{{ messages | length * 1e308 }}',
  '\u0000\u001b[31m',
  '{% endfor %}',
  '{{ range(10000000) | list | length }}',
  '{{ "%s" % messages }}',
];

export const chatTemplateTarget: FuzzTarget<Corpus> = {
  name: 'chat-template',
  description:
    "the tiny llama's chat template (tokenizer_config.json or chat_template.jinja): loops, growth, syntax; cli data --model",
  prepare: async (corpus) => corpus,
  async seedCase(corpus, dir) {
    const model = await copySeed(corpus.model, dir, 'model', TOKENIZER_FILES);
    return dataCase(model, corpus.chatData, 'model/tokenizer_config.json', 'seed');
  },
  async makeCase(corpus, rng, dir): Promise<FuzzCase> {
    const model = await copySeed(corpus.model, dir, 'model', TOKENIZER_FILES);
    const configPath = join(model, 'tokenizer_config.json');
    const config = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>;
    const template = String(config.chat_template ?? '');
    const m = mutateText(rng, template, TEMPLATE_FRAGMENTS);
    if (rng.next() < 0.3) {
      await writeFile(join(model, 'chat_template.jinja'), m.text);
      return dataCase(model, corpus.chatData, 'model/chat_template.jinja', m.note);
    }
    config.chat_template = m.text;
    await writeFile(configPath, JSON.stringify(config));
    return dataCase(model, corpus.chatData, 'model/tokenizer_config.json', m.note);
  },
};
