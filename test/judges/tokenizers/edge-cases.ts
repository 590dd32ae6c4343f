/**
 * Conversations at the edges of chat templates and tokenizers, judged for every model against transformers.js,
 * and the cases where transformers.js renders differently from Python transformers, pinned with both texts.
 */
import type { Message } from '../../../src/schema/dataset.ts';

const u = (content: string): Message => ({ role: 'user', content });
const a = (content: string): Message => ({ role: 'assistant', content });
const s = (content: string): Message => ({ role: 'system', content });

const LONG = Array.from({ length: 600 }, (_, i) => `Line ${i}: the quick brown fox jumps over the lazy dog.`).join(
  '\n',
);
const CODE = 'def f(x):\n    if x:\n        return [\n            x,\n        ]\n    return None\n';

/** Every model, every case: text, ids and mask must equal the reference (the Python text where a pin says so). */
export const EDGE_CASES: { name: string; messages: Message[] }[] = [
  { name: 'system prompt', messages: [s('You are terse.'), u('Hi'), a('Hello.')] },
  // (a system prompt that starts with whitespace is the one text Gemma 2's fold cannot keep: system-fold.test.ts)
  { name: 'padded system prompt', messages: [s('Rules:\n- be brief  \n'), u('\n Hi \n'), a(' Hello. ')] },
  { name: 'multi-turn with system', messages: [s('Be exact.'), u('1+1?'), a('2'), u('2+2?'), a('4')] },
  { name: 'reasoning tags', messages: [u('2+2?'), a('<think>\nAdd two and two.\n</think>\n\n4')] },
  {
    name: 'reasoning in several turns',
    messages: [u('1+1?'), a('<think>one plus one</think>2'), u('2+2?'), a('<think>\ntwo plus two\n</think>\n\n4')],
  },
  { name: 'reasoning without the opening tag', messages: [u('Why?'), a('Because.\n</think>\n\nIt is so.')] },
  { name: 'empty reasoning', messages: [u('Q'), a('<think></think>A')] },
  { name: 'emoji', messages: [u('Family: 👨‍👩‍👧‍👦, flag 🇫🇷, skin 👍🏽'), a('Nice 😀🎉 — 🧑🏿‍💻 codes.')] },
  {
    name: 'non-NFC text',
    // e + combining acute, Å as A + ring, Hangul as conjoining jamo, ﬁ ligature (NFKC-only), precomposed é too
    messages: [
      u('Cafe\u0301 A\u030angstro\u0308m \u1100\u1161\u11a8 ﬁle café'),
      a('Re\u0301sume\u0301 \u1112\u1161\u11ab'),
    ],
  },
  { name: 'very long row', messages: [u(LONG), a(LONG.slice(0, 5000))] },
  { name: 'indented code answer', messages: [u('Write f.'), a(CODE)] },
  { name: 'leading whitespace and newlines', messages: [u('  indented question'), a('\n\n  - item\n    - nested')] },
  { name: 'trailing whitespace', messages: [u('Q \n'), a('A \n\n')] },
  { name: 'tabs and CRLF', messages: [u('a\tb\r\nc'), a('x\r\n\ty\r\n')] },
  { name: 'empty user content', messages: [u(''), a('Answer to nothing.')] },
  { name: 'empty earlier answer', messages: [u('One'), a(''), u('Two'), a('Second.')] },
  { name: 'special-token look-alikes', messages: [u('What is <|im_start|>?'), a('A marker like <start_of_turn>.')] },
  { name: 'unicode whitespace', messages: [u('\u00a0nbsp\u3000ideo'), a('\u2003em space\u00a0')] },
];

/**
 * Known disagreements of transformers.js with Python transformers. `python` is the text Python transformers
 * renders, derived by evaluating the template with Python's string semantics by hand:
 *  - Qwen3: `content.split('</think>')[-1].lstrip('\n')` removes only newlines, and the reasoning is
 *    `content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n')`, then `.strip('\n')`;
 *    transformers.js strips every kind of whitespace there (its `lstrip/rstrip/strip` ignore the argument).
 *  - Llama 3 / Gemma: `content | trim` is Python's `str.strip()`, whose whitespace is `str.isspace()`: it removes
 *    U+0085 and keeps U+FEFF; transformers.js uses JavaScript's `trim`, which does the opposite.
 * `js` is what transformers.js renders (pinned, so a fix upstream shows up here).
 */
export interface PythonPin {
  name: string;
  models: string[];
  messages: Message[];
  python: string;
  js: string;
}

const edge = (name: string): Message[] => EDGE_CASES.find((c) => c.name === name)!.messages;

const QWEN_USER = '<|im_start|>user\nList two.<|im_end|>\n<|im_start|>assistant\n';
const QWEN_NO_THINK = '<|im_start|>assistant\n<think>\n\n</think>\n\n';
const LLAMA_HEADER = '<|start_header_id|>assistant<|end_header_id|>\n\n';
const LLAMA_USER = `<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>${LLAMA_HEADER}`;
const GEMMA_USER = '<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n';

export const PYTHON_PINS: PythonPin[] = [
  // Edge cases on which Qwen3's last-turn `content.lstrip('\n')` keeps what transformers.js strips.
  {
    name: 'padded system prompt',
    models: ['Qwen3-0.6B'],
    messages: edge('padded system prompt'),
    python:
      '<|im_start|>system\nRules:\n- be brief  \n<|im_end|>\n<|im_start|>user\n\n Hi \n<|im_end|>\n' +
      `${QWEN_NO_THINK} Hello. <|im_end|>\n`,
    js:
      '<|im_start|>system\nRules:\n- be brief  \n<|im_end|>\n<|im_start|>user\n\n Hi \n<|im_end|>\n' +
      `${QWEN_NO_THINK}Hello. <|im_end|>\n`,
  },
  {
    name: 'leading whitespace and newlines',
    models: ['Qwen3-0.6B'],
    messages: edge('leading whitespace and newlines'),
    python: `<|im_start|>user\n  indented question<|im_end|>\n${QWEN_NO_THINK}  - item\n    - nested<|im_end|>\n`,
    js: `<|im_start|>user\n  indented question<|im_end|>\n${QWEN_NO_THINK}- item\n    - nested<|im_end|>\n`,
  },
  {
    name: 'unicode whitespace',
    models: ['Qwen3-0.6B'],
    messages: edge('unicode whitespace'),
    python: `<|im_start|>user\n\u00a0nbsp\u3000ideo<|im_end|>\n${QWEN_NO_THINK}\u2003em space\u00a0<|im_end|>\n`,
    js: `<|im_start|>user\n\u00a0nbsp\u3000ideo<|im_end|>\n${QWEN_NO_THINK}em space\u00a0<|im_end|>\n`,
  },
  {
    name: 'Qwen3 answer starting with spaces after the reasoning',
    models: ['Qwen3-0.6B'],
    messages: [u('List two.'), a('<think>\nplan\n</think>\n\n  - item\n  - two')],
    python: `${QWEN_USER}<think>\nplan\n</think>\n\n  - item\n  - two<|im_end|>\n`,
    js: `${QWEN_USER}<think>\nplan\n</think>\n\n- item\n  - two<|im_end|>\n`,
  },
  {
    name: 'Qwen3 reasoning padded with spaces',
    models: ['Qwen3-0.6B'],
    messages: [u('List two.'), a('<think>  plan  </think>\n\n\tcode')],
    python: `${QWEN_USER}<think>\n  plan  \n</think>\n\n\tcode<|im_end|>\n`,
    js: `${QWEN_USER}<think>\nplan\n</think>\n\ncode<|im_end|>\n`,
  },
  {
    name: 'trim keeps U+FEFF and removes U+0085 (Python whitespace)',
    models: ['Meta-Llama-3-8B-Instruct'],
    messages: [u('Hi'), a('\ufeffAnswer\x85')],
    // (the first release of this template always ends with the assistant header)
    python: `${LLAMA_USER}\ufeffAnswer<|eot_id|>${LLAMA_HEADER}`,
    js: `${LLAMA_USER}Answer\x85<|eot_id|>${LLAMA_HEADER}`,
  },
  {
    name: 'Gemma 3 trim with Python whitespace',
    models: ['gemma-3-it'],
    messages: [u('Hi'), a('\ufeffAnswer\x85')],
    python: `${GEMMA_USER}\ufeffAnswer<end_of_turn>\n`,
    js: `${GEMMA_USER}Answer\x85<end_of_turn>\n`,
  },
];
