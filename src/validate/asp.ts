/**
 * ASP validator: clingo 5.8 compiled to WebAssembly (`clingo-wasm`), run on the text as clingo's
 * own command line would (`clingo --outf=2 - 1`). Syntax errors, lexer errors and grounding errors
 * (unsafe variables, ...) come back with clingo's messages verbatim; the solve result
 * (SATISFIABLE / UNSATISFIABLE / UNKNOWN) is reported in `detail.result`.
 *
 * Loading: the package's emscripten factory (`clingo-wasm/src/clingo.js`) is imported on first
 * use. In Node it finds `clingo.wasm` beside itself; in a browser bundle the worker passes the
 * URL Vite gives the asset (`configureClingo({ wasmUrl })`, see `./worker.ts`). The package's
 * `dist/clingo.web.js` is deliberately not used: it spawns its own worker and expects webpack asset
 * paths at the site root.
 */
import { aspErrorKind } from './kinds.ts';
import {
  emptyInputResult,
  type AspOptions,
  type ValidationError,
  type ValidationResult,
  type Validator,
} from './types.ts';

interface ClingoModule {
  ccall(name: 'run', returnType: 'number', argTypes: ['string', 'string'], args: [string, string]): number;
}

interface ClingoModuleParams {
  print: (line: string) => void;
  printErr: (line: string) => void;
  locateFile?: (path: string, prefix: string) => string;
  wasmBinary?: ArrayBuffer;
}

type ClingoFactory = (params: ClingoModuleParams) => Promise<ClingoModule>;

interface ClingoLocation {
  wasmUrl?: string;
  wasmBinary?: ArrayBuffer;
}

let location: ClingoLocation = {};

/** Where the browser finds `clingo.wasm`. Not needed in Node. Call before the first validation. */
export function configureClingo(where: ClingoLocation): void {
  location = { ...where };
}

async function loadFactory(): Promise<ClingoFactory> {
  // A CommonJS module: Node and Vite both expose `module.exports` (the factory) as `default`.
  const ns = (await import('clingo-wasm/src/clingo.js')) as unknown as {
    default?: ClingoFactory;
    Module?: ClingoFactory;
  };
  const factory = ns.default ?? ns.Module;
  if (typeof factory !== 'function') throw new Error('clingo-wasm: emscripten factory not found');
  return factory;
}

/** clasp exit codes that mean the run itself failed: out of memory, error, command line error. */
const FAILED_STATUS = new Set([33, 65, 128]);

const LOCATION = /^[^\s:]*:(\d+):(\d+)(?:-(?:\d+:)?\d+)?: (error|info|warning|note):/;

interface ClingoRun {
  status: number;
  stdout: string;
  stderr: string[];
}

/** One clingo instance, reused across runs; recreated if a run traps. */
class ClingoRunner {
  private module: Promise<ClingoModule> | undefined;
  private out: string[] = [];
  private err: string[] = [];

  private load(): Promise<ClingoModule> {
    this.module ??= loadFactory().then((factory) => {
      const params: ClingoModuleParams = {
        print: (line) => this.out.push(line),
        printErr: (line) => this.err.push(line),
      };
      if (location.wasmBinary) params.wasmBinary = location.wasmBinary;
      const url = location.wasmUrl;
      if (url) params.locateFile = (path, prefix) => (path.endsWith('.wasm') ? url : prefix + path);
      return factory(params);
    });
    this.module.catch(() => {
      this.module = undefined;
    });
    return this.module;
  }

  async run(program: string, args: string): Promise<ClingoRun> {
    const module = await this.load();
    this.out = [];
    this.err = [];
    try {
      const status = module.ccall('run', 'number', ['string', 'string'], [program, args]);
      return { status, stdout: this.out.join('\n'), stderr: this.err };
    } catch (e) {
      // A trap leaves the emscripten runtime unusable: start a fresh one next time.
      this.module = undefined;
      const text = e instanceof Error ? e.message : String(e);
      return { status: 65, stdout: '', stderr: [...this.err, `*** ERROR: (clingo-wasm): ${text}`] };
    }
  }
}

/** Splits clingo's stderr into message blocks (clingo separates messages with a blank line). */
export function splitClingoMessages(lines: string[]): string[] {
  return lines
    .join('\n')
    .split(/\n\s*\n/)
    .map((b) => b.replace(/\s+$/, ''))
    .filter((b) => b.trim().length > 0);
}

interface Parsed {
  errors: ValidationError[];
  warnings: ValidationError[];
  stage?: string;
}

export function parseClingoMessages(lines: string[]): Parsed {
  const blocks = splitClingoMessages(lines);
  const summary = blocks.find((b) => b.startsWith('*** ERROR'));
  const stage = summary?.replace(/^\*\*\* ERROR: \([^)]*\): /, '');
  const errors: ValidationError[] = [];
  const warnings: ValidationError[] = [];
  for (const block of blocks) {
    if (block === summary) continue;
    const m = LOCATION.exec(block);
    const entry: ValidationError = { message: block, kind: aspErrorKind(block, stage) };
    if (m) {
      entry.line = Number(m[1]);
      entry.col = Number(m[2]);
    }
    const severity = m?.[3] ?? (block.startsWith('*** Warn') ? 'warning' : 'error');
    (severity === 'error' ? errors : warnings).push(entry);
  }
  // A failed run with no located message: clingo's own closing line is the message.
  if (errors.length === 0 && summary) errors.push({ message: summary, kind: aspErrorKind(summary, stage) });
  return stage === undefined ? { errors, warnings } : { errors, warnings, stage };
}

function readResult(stdout: string): { result?: string; solver?: string } {
  try {
    const json = JSON.parse(stdout) as { Result?: unknown; Solver?: unknown };
    return {
      ...(typeof json.Result === 'string' ? { result: json.Result } : {}),
      ...(typeof json.Solver === 'string' ? { solver: json.Solver } : {}),
    };
  } catch {
    return {};
  }
}

export class AspValidator implements Validator {
  readonly kind = 'asp' as const;
  label = 'clingo (wasm)';
  private readonly runner = new ClingoRunner();
  private readonly options: Required<AspOptions>;

  constructor(options: AspOptions = {}) {
    this.options = {
      requireSatisfiable: options.requireSatisfiable ?? false,
      solveLimit: options.solveLimit ?? 20000,
      ignoreOptimization: options.ignoreOptimization ?? true,
    };
  }

  /** clingo's command line for one validation (the trailing `1` asks for one model). */
  get args(): string {
    const parts = ['--outf=2'];
    if (this.options.ignoreOptimization) parts.push('--opt-mode=ignore');
    if (this.options.solveLimit > 0) parts.push(`--solve-limit=${Math.floor(this.options.solveLimit)}`);
    parts.push('1');
    return parts.join(' ');
  }

  async validate(text: string): Promise<ValidationResult> {
    if (text.trim() === '') return emptyInputResult();
    const run = await this.runner.run(text, this.args);
    const parsed = parseClingoMessages(run.stderr);
    const { result, solver } = readResult(run.stdout);
    if (solver) this.label = solver.replace(/ version /, ' ');
    const errors = parsed.errors;
    if (FAILED_STATUS.has(run.status) && errors.length === 0) {
      errors.push({ message: `clingo exited with status ${run.status}`, kind: 'grounding' });
    }
    const failed = errors.length > 0;
    if (!failed && this.options.requireSatisfiable && result === 'UNSATISFIABLE') {
      errors.push({ message: 'UNSATISFIABLE', kind: 'unsatisfiable' });
    }
    const detail: Record<string, string | number> = { status: run.status };
    if (result && !failed) detail.result = result;
    if (parsed.stage) detail.stage = parsed.stage;
    const out: ValidationResult = { ok: errors.length === 0, errors, detail };
    if (parsed.warnings.length > 0) out.warnings = parsed.warnings;
    return out;
  }
}
