/**
 * The import-direction rules of `src/` and the check behind `node scripts/check-imports.mjs` (the lint stage of
 * `npm test`). Imports run one way:
 *
 *   app, cli → worker → train → model → kernels → gpu
 *   data, formats, validate, storage beneath train; arch (one file per architecture), util (neutral helpers) and
 *   schema (zod, shared types) at the bottom.
 *
 * `LAYERS` lists, for each top-level folder of `src/`, the folders it may import from (its own folder is always
 * allowed). Two things fail the check: an import into a folder not on the list ("upward or sideways"), and an import
 * circle between files (static imports, `import type` and dynamic `import()` all count, since each ties the files'
 * structure together). An import is exempt from both when the line itself or the line just above it carries
 * `// import-direction: <why>` with a reason.
 */
import ts from 'typescript';

const BOTTOM = ['arch', 'schema', 'util'];

/** folder → folders it may import from (besides itself). */
export const LAYERS = {
  schema: [],
  util: ['schema'],
  arch: ['schema', 'util'],
  gpu: [...BOTTOM],
  formats: [...BOTTOM],
  data: ['formats', ...BOTTOM],
  validate: ['data', 'formats', ...BOTTOM],
  storage: ['data', 'formats', ...BOTTOM],
  kernels: ['gpu', 'formats', ...BOTTOM],
  model: ['kernels', 'gpu', 'formats', 'storage', 'data', ...BOTTOM],
  train: ['model', 'kernels', 'gpu', 'formats', 'data', 'validate', 'storage', ...BOTTOM],
  worker: ['train', 'model', 'kernels', 'gpu', 'formats', 'data', 'validate', 'storage', ...BOTTOM],
  app: ['worker', 'train', 'model', 'kernels', 'gpu', 'formats', 'data', 'validate', 'storage', ...BOTTOM],
  cli: ['train', 'model', 'kernels', 'gpu', 'formats', 'data', 'validate', 'storage', ...BOTTOM],
};

/** Folders outside `src/` that some layers read (WGSL sources, inlined with `?raw`). */
export const OUTSIDE = { shaders: ['gpu', 'kernels'] };

const EXEMPT = /\/\/\s*import-direction:\s*\S/;

/** `a/b/../c` → `a/c`, posix. */
function normalize(p) {
  const out = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out.join('/');
}

function dirname(p) {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

/** Top-level folder of a `src/…` path (files directly in `src/` count as the bottom layer). */
export function layerOf(path) {
  const parts = path.split('/');
  if (parts[0] !== 'src') return parts[0];
  return parts.length > 2 ? parts[1] : 'schema';
}

/** Relative imports of one file: target path (query stripped), line (1-based) and whether it is exempt. */
export function importsOf(path, text) {
  const info = ts.preProcessFile(text, true, true);
  const lines = text.split('\n');
  const starts = ts.computeLineStarts(text);
  const out = [];
  for (const ref of info.importedFiles) {
    if (!ref.fileName.startsWith('.')) continue;
    const line = ts.computeLineAndCharacterOfPosition(starts, ref.pos).line;
    const exempt = EXEMPT.test(lines[line] ?? '') || (line > 0 && EXEMPT.test(lines[line - 1] ?? ''));
    const target = normalize(`${dirname(path)}/${ref.fileName.replace(/\?.*$/, '')}`);
    out.push({ from: path, to: target, line: line + 1, exempt });
  }
  return out;
}

/** Strongly connected components with more than one file (or a file importing itself), Tarjan's algorithm. */
export function circles(edges) {
  const graph = new Map();
  for (const e of edges) {
    if (!graph.has(e.from)) graph.set(e.from, new Set());
    graph.get(e.from).add(e.to);
  }
  let counter = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  const visit = (v) => {
    index.set(v, counter);
    low.set(v, counter);
    counter += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v), index.get(w)));
      }
    }
    if (low.get(v) === index.get(v)) {
      const scc = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || graph.get(v)?.has(v)) found.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

/**
 * Checks a set of files (`{ path, text }`, paths relative to the repository root, posix). Returns the problems as
 * readable lines; an empty list means the tree follows the rules.
 */
export function checkImports(files) {
  const problems = [];
  const edges = [];
  for (const { path, text } of files) {
    const from = layerOf(path);
    if (!(from in LAYERS)) {
      problems.push(`${path}: folder src/${from}/ has no place in LAYERS (scripts/import-rules.mjs)`);
      continue;
    }
    for (const imp of importsOf(path, text)) {
      if (imp.exempt) continue;
      edges.push(imp);
      const to = layerOf(imp.to);
      if (to === from) continue;
      const allowed = imp.to.startsWith('src/') ? LAYERS[from].includes(to) : (OUTSIDE[to] ?? []).includes(from);
      if (!allowed) {
        problems.push(
          `${path}:${imp.line}: imports ${imp.to} — ${from} may not import from ${to} (upward or sideways); ` +
            `move the shared part down or mark the line with // import-direction: <why>`,
        );
      }
    }
  }
  for (const scc of circles(edges)) {
    problems.push(`import circle: ${scc.join(' ↔ ')}`);
  }
  return problems;
}
