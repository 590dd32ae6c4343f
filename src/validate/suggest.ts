/**
 * Which validator fits a dataset: from its field names (`output_dot`), file names (`ASP.txt`,
 * `graph.gv`) and a sample of its answers. Names are strong evidence, content is checked when
 * names say nothing. The user can always choose by hand; this only proposes.
 */
import { fencedBlocks } from './extract.ts';
import { VALIDATOR_KINDS, type ValidatorKind } from './types.ts';

export interface Suggestion {
  kind: ValidatorKind;
  /** 0..1; names score 0.9 (field) or 0.8 (file), content scores the share of samples that look right. */
  score: number;
  reason: string;
}

export interface SuggestInput {
  /** Field names of the records, e.g. `['input_code', 'output_dot']`. */
  fields?: readonly string[];
  /** File names or paths in the dataset, e.g. `['n_queens/ASP.txt']`. */
  files?: readonly string[];
  /** Some answers (a few dozen is plenty). */
  samples?: readonly string[];
}

const NAME_TOKENS: Record<ValidatorKind, readonly string[]> = {
  asp: ['asp', 'clingo', 'gringo', 'lp', 'answerset', 'answer_set'],
  dot: ['dot', 'graphviz', 'gv', 'digraph'],
  json: ['json', 'jsonschema'],
  sql: ['sql', 'sqlite'],
};

const FILE_EXT: Record<string, ValidatorKind> = { lp: 'asp', dot: 'dot', gv: 'dot', sql: 'sql' };

/** `output_dot` → [output, dot]; `ASP.txt` → [asp, txt]; `sqlQuery` → [sql, query]. */
export function nameTokens(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((t) => t.toLowerCase());
}

function fromNames(names: readonly string[], score: number, what: string): Suggestion[] {
  const out: Suggestion[] = [];
  for (const name of names) {
    const tokens = nameTokens(name);
    for (const kind of VALIDATOR_KINDS) {
      if (tokens.some((t) => NAME_TOKENS[kind].includes(t))) {
        out.push({ kind, score, reason: `${what} "${name}"` });
      }
    }
  }
  return out;
}

/**
 * File names: the base name counts (0.8) unless it is a record container (`*.json`, `*.jsonl`,
 * `*.txt`: `pairs.json` says nothing about its answers) other than `ASP.txt`-style names; folder
 * names count less (0.6): `dot_pairs/synthetic.jsonl`.
 */
function fromFileNames(files: readonly string[]): Suggestion[] {
  const parts = files.map((f) => f.split(/[\\/]/).filter(Boolean));
  const bases = parts.map((p) => p[p.length - 1] ?? '');
  const out = [
    ...fromNames(
      bases.filter((f) => !/\.(jsonl?|txt)$/i.test(f) || /^(asp|dot|sql)\./i.test(f)),
      0.8,
      'file',
    ),
    ...fromNames([...new Set(parts.flatMap((p) => p.slice(0, -1)))], 0.6, 'folder'),
  ];
  for (const f of files) {
    const ext = /\.([A-Za-z0-9]+)$/.exec(f)?.[1]?.toLowerCase();
    const kind = ext ? FILE_EXT[ext] : undefined;
    if (kind) out.push({ kind, score: 0.8, reason: `file extension ".${ext}" (${f})` });
  }
  return out;
}

const LOOKS: Record<ValidatorKind, (code: string) => boolean> = {
  dot: (c) => /^\s*(strict\s+)?(di)?graph\b\s*("(?:[^"\\]|\\.)*"|[\w.\u0080-\uffff-]+)?\s*\{/i.test(c),
  sql: (c) => /^\s*(SELECT|WITH|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|REPLACE|PRAGMA)\b/i.test(c),
  json: (c) => {
    const t = c.trim();
    if (!/^[[{]/.test(t)) return false;
    try {
      JSON.parse(t);
      return true;
    } catch {
      return false;
    }
  },
  asp: (c) => {
    const lines = c
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('%'));
    if (lines.length === 0 || !lines.every((l) => l.endsWith('.'))) return false;
    return lines.some((l) => /:-|:~|^#(show|const|minimize|maximize|count|sum|include)\b|^\{.*\}/.test(l));
  },
};

function fromSamples(samples: readonly string[]): Suggestion[] {
  if (samples.length === 0) return [];
  const out: Suggestion[] = [];
  const codes = samples.map((s) => fencedBlocks(s)[0]?.code ?? s);
  for (const kind of VALIDATOR_KINDS) {
    const hits = codes.filter((c) => LOOKS[kind](c)).length;
    if (hits > 0) {
      out.push({
        kind,
        score: (0.75 * hits) / codes.length,
        reason: `${hits} of ${codes.length} sampled answers look like ${kind.toUpperCase()}`,
      });
    }
  }
  return out;
}

/** All suggestions, best first, one per kind (its strongest evidence). */
export function suggestValidators(input: SuggestInput): Suggestion[] {
  const all = [
    ...fromNames(input.fields ?? [], 0.9, 'field'),
    ...fromFileNames(input.files ?? []),
    ...fromSamples(input.samples ?? []),
  ];
  const best = new Map<ValidatorKind, Suggestion>();
  for (const s of all) {
    const prev = best.get(s.kind);
    if (!prev || s.score > prev.score) best.set(s.kind, s);
  }
  return [...best.values()].sort((a, b) => b.score - a.score);
}

/** The best suggestion, or undefined when nothing points anywhere. */
export function suggestValidator(input: SuggestInput): Suggestion | undefined {
  return suggestValidators(input)[0];
}
