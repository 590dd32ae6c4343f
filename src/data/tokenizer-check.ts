/**
 * tokenizer.json comes with a model folder and is untrusted: before @huggingface/tokenizers builds a tokenizer from
 * it, the parts that library would crash on (or silently misread) are checked and named — the model type, a BPE
 * vocab that must be an object of ids, merges as "a b" strings or [a, b] pairs, added_tokens entries, sizes — and
 * after it is built, every regular expression it compiled (pre-tokenizer splits, normalizer and decoder replaces)
 * is run on adversarial probes under a time budget: a pattern that backtracks catastrophically would otherwise hang
 * the import on the first long row, and JavaScript cannot interrupt a running regex.
 */

export class TokenizerFileError extends Error {
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'TokenizerFileError';
  }
}

/** More entries than any real tokenizer has (the largest are ~262k). */
export const MAX_VOCAB = 4 * 2 ** 20;
const MODEL_TYPES = ['BPE', 'Unigram', 'WordPiece', 'WordLevel'];

/** A short description of a JSON value for messages (never stringifies a deep or huge structure). */
function show(v: unknown): string {
  if (Array.isArray(v))
    return v.length <= 4 && v.every((x) => typeof x !== 'object') ? JSON.stringify(v) : `an array of ${v.length}`;
  if (typeof v === 'object' && v !== null) return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  return String(v);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkId(file: string, where: string, id: unknown): void {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0 || id >= MAX_VOCAB)
    throw new TokenizerFileError(
      file,
      `${where} must be a token id (an integer from 0 to ${MAX_VOCAB - 1}), got ${show(id)}`,
    );
}

/** Throws a TokenizerFileError naming the field when `json` is not a tokenizer the library can build. */
export function checkTokenizerJson(json: unknown, file = 'tokenizer.json'): void {
  if (!isObject(json)) throw new TokenizerFileError(file, 'is not a JSON object');
  const model = json.model;
  if (!isObject(model)) throw new TokenizerFileError(file, '"model" is missing or not an object');
  const type = model.type;
  if (type !== undefined && !MODEL_TYPES.includes(type as string))
    throw new TokenizerFileError(file, `model.type ${show(type)} is not one of ${MODEL_TYPES.join(', ')}`);
  const vocab = model.vocab;
  if (type === 'Unigram') {
    if (!Array.isArray(vocab))
      throw new TokenizerFileError(file, 'model.vocab of a Unigram model must be an array of [piece, score]');
    if (vocab.length > MAX_VOCAB)
      throw new TokenizerFileError(file, `model.vocab has ${vocab.length} entries, more than ${MAX_VOCAB}`);
    vocab.forEach((e, i) => {
      if (!Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'number' || !Number.isFinite(e[1]))
        throw new TokenizerFileError(file, `model.vocab[${i}] must be [piece, score], got ${show(e)}`);
    });
  } else if (vocab !== undefined) {
    if (!isObject(vocab))
      throw new TokenizerFileError(
        file,
        `model.vocab of a ${String(type ?? 'BPE')} model must be an object of token → id, not ${Array.isArray(vocab) ? 'an array' : typeof vocab}`,
      );
    const entries = Object.entries(vocab);
    if (entries.length > MAX_VOCAB)
      throw new TokenizerFileError(file, `model.vocab has ${entries.length} entries, more than ${MAX_VOCAB}`);
    for (const [token, id] of entries) checkId(file, `model.vocab[${show(token)}]`, id);
  }
  if (type === 'BPE' || model.merges !== undefined) {
    const merges = model.merges;
    if (!Array.isArray(merges)) throw new TokenizerFileError(file, 'model.merges must be an array');
    const pairs = merges.length > 0 && Array.isArray(merges[0]);
    merges.forEach((m, i) => {
      const ok = pairs
        ? Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string'
        : typeof m === 'string' && m.split(' ').length === 2;
      if (!ok)
        throw new TokenizerFileError(
          file,
          `model.merges[${i}] must be ${pairs ? 'a pair ["a", "b"] like merges[0]' : 'a string "a b" (two tokens and one space) like merges[0]'}, got ${show(m)}`,
        );
    });
  }
  const added = json.added_tokens ?? [];
  if (!Array.isArray(added)) throw new TokenizerFileError(file, 'added_tokens must be an array');
  added.forEach((t, i) => {
    if (!isObject(t) || typeof t.content !== 'string')
      throw new TokenizerFileError(
        file,
        `added_tokens[${i}] must be an object with a string "content", got ${show(t)}`,
      );
    checkId(file, `added_tokens[${i}].id`, t.id);
  });
}

/** Strings that make backtracking regexes blow up: runs of one class of character, then a character that fails. */
const RUNS = ['a', ' ', '1', '\n', '!', 'é', 'A', '\t', 'ab', 'a ', ' a', 'a1', '\u00a0', '中'];
const ENDS = ['', '!', ' ', 'a', '\u0000', '1', '\n'];
/**
 * Probe lengths: one character at a time up to 64, then growing by half. A nested quantifier such as
 * ((a*)*)*…b costs about 50× more per extra character, so a step of several characters would jump from a probe
 * under the budget to one that runs for minutes (and a running regex cannot be interrupted).
 */
const LENGTHS = [
  ...Array.from({ length: 64 }, (_, i) => i + 1),
  ...Array.from({ length: 10 }, (_, i) => Math.round(64 * 1.5 ** (i + 1))),
];

/** Every RegExp reachable from the built tokenizer's normalizer, pre-tokenizer and decoder (by property walk). */
function compiledRegexes(root: unknown): RegExp[] {
  const out: RegExp[] = [];
  const seen = new Set<unknown>();
  const walk = (v: unknown, depth: number): void => {
    // The library's normalizers and pre-tokenizers are callable objects (functions with fields).
    if (depth > 12 || v === null || (typeof v !== 'object' && typeof v !== 'function') || seen.has(v)) return;
    seen.add(v);
    if (v instanceof RegExp) {
      out.push(v);
      return;
    }
    if (Array.isArray(v)) for (const x of v) walk(x, depth + 1);
    else for (const x of Object.values(v)) walk(x, depth + 1);
  };
  walk(root, 0);
  return out;
}

/**
 * Runs each regex of the built tokenizer over growing probes; one that needs more than 10 ms + 2 µs per character
 * (twice, to rule out a pause) is refused with a TokenizerFileError. Real tokenizers' patterns take microseconds.
 */
export function checkTokenizerRegexes(tokenizer: object, file = 'tokenizer.json'): void {
  const t = tokenizer as Record<string, unknown>;
  const regexes = compiledRegexes([t.normalizer, t.pre_tokenizer, t.decoder]);
  for (const source of regexes) {
    const re = new RegExp(source.source, source.flags.includes('g') ? source.flags : `${source.flags}g`);
    for (const run of RUNS) {
      for (const end of ENDS) {
        for (const n of LENGTHS) {
          const probe = run.repeat(Math.ceil(n / run.length)) + end;
          const budget = 10 + probe.length * 0.002;
          const time = () => {
            const t0 = performance.now();
            re.lastIndex = 0;
            probe.match(re);
            return performance.now() - t0;
          };
          if (time() > budget && time() > budget)
            throw new TokenizerFileError(
              file,
              `the regular expression /${source.source.slice(0, 120)}/ takes over ${Math.round(budget)} ms on ${probe.length} characters ("${JSON.stringify(run).slice(1, -1)}" repeated): it backtracks catastrophically and would hang tokenization; the file is corrupt or hostile`,
            );
        }
      }
    }
  }
}
