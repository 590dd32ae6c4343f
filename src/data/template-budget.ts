/**
 * Chat templates come with a model folder, so they are untrusted code: a template can loop a billion times, recurse
 * forever or double a string until memory runs out. `renderBounded` renders a parsed @huggingface/jinja template
 * like `Template.render` does (the same globals), but with an interpreter that counts evaluation steps, limits the
 * nesting depth of evaluation (macro recursion), refuses `range()` results and strings beyond a size budget, and
 * stops with a TemplateBudgetError that says which limit was hit.
 */
import { Environment, Interpreter, type Template } from '@huggingface/jinja';

export interface TemplateBudget {
  /** Statements and expressions evaluated per render, loop iterations counting 4 (a long real conversation takes ~1e4). */
  steps: number;
  /** Nesting depth of evaluation (recursive macros). */
  depth: number;
  /** Characters of any one string value (a long-context row is ~500k characters). */
  chars: number;
  /** Numbers one range() may produce. */
  range: number;
}

export const DEFAULT_TEMPLATE_BUDGET: TemplateBudget = {
  steps: 1_000_000,
  depth: 200,
  chars: 4 * 2 ** 20,
  range: 100_000,
};

/** What `raise_exception(message)` throws: the template's own refusal, passed on in its words. */
export class TemplateRaisedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateRaisedError';
  }
}

export class TemplateBudgetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateBudgetError';
  }
}

type Statement = Parameters<Interpreter['evaluate']>[0];
type Scope = Parameters<Interpreter['evaluate']>[1];

class BoundedInterpreter extends Interpreter {
  private steps = 0;
  private depth = 0;
  constructor(
    env: Environment,
    private readonly budget: TemplateBudget,
  ) {
    super(env);
  }

  /** The iterable expressions of the template's for-loops: their lengths are charged as steps up front. */
  private readonly iterables = new WeakSet<object>();

  private charge(n: number): void {
    this.steps += n;
    if (this.steps > this.budget.steps)
      throw new TemplateBudgetError(
        `the chat template did not finish within ${this.budget.steps.toLocaleString('en')} steps (an endless or huge loop?)`,
      );
  }

  override evaluate(statement: Statement, environment: Scope): ReturnType<Interpreter['evaluate']> {
    this.charge(1);
    // A loop body may evaluate nothing per iteration (an empty body), so each loop is charged its length.
    if (statement?.type === 'For') this.iterables.add((statement as unknown as { iterable: object }).iterable);
    if (++this.depth > this.budget.depth) {
      this.depth = 0;
      throw new TemplateBudgetError(
        `the chat template nests deeper than ${this.budget.depth} levels (a macro calling itself without end?)`,
      );
    }
    try {
      const value = super.evaluate(statement, environment);
      const v = (value as { value?: unknown }).value;
      if (statement && this.iterables.has(statement)) {
        const n = typeof v === 'string' || Array.isArray(v) ? v.length : v instanceof Map ? v.size : 0;
        // An iteration costs the interpreter a scope and loop variables: about four evaluations' time.
        this.charge(4 * n);
      }
      if (typeof v === 'string' && v.length > this.budget.chars)
        throw new TemplateBudgetError(
          `the chat template built a string of ${v.length.toLocaleString('en')} characters, more than the ${this.budget.chars.toLocaleString('en')} allowed`,
        );
      return value;
    } finally {
      if (this.depth > 0) this.depth--;
    }
  }
}

/** Jinja's global `range`, refusing results longer than the budget instead of building them. */
function boundedRange(max: number) {
  return (start: number, stop?: number, step = 1): number[] => {
    const [a, b] = stop === undefined ? [0, start] : [start, stop];
    if (step === 0) throw new Error('range() step must not be zero');
    const n = Math.max(0, Math.ceil((b - a) / step));
    if (!Number.isFinite(n) || n > max)
      throw new TemplateBudgetError(`the chat template asks for range() of ${n} numbers, more than ${max} allowed`);
    return Array.from({ length: n }, (_, i) => a + i * step);
  };
}

/** Python's strftime for the few codes chat templates use (as @huggingface/jinja's strftime_now). */
function strftimeNow(format: string): string {
  const d = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  const month = (style: 'long' | 'short') => new Intl.DateTimeFormat(undefined, { month: style }).format(d);
  return format.replace(/%[YmdbBHM%]/g, (t) => {
    switch (t) {
      case '%Y':
        return String(d.getFullYear());
      case '%m':
        return pad(d.getMonth() + 1);
      case '%d':
        return pad(d.getDate());
      case '%b':
        return month('short');
      case '%B':
        return month('long');
      case '%H':
        return pad(d.getHours());
      case '%M':
        return pad(d.getMinutes());
      default:
        return '%';
    }
  });
}

/** Renders `template` with `items` as Template.render does, within `budget`. */
export function renderBounded(
  template: Template,
  items: Record<string, unknown>,
  budget: TemplateBudget = DEFAULT_TEMPLATE_BUDGET,
): string {
  const env = new Environment();
  const globals: Record<string, unknown> = {
    false: false,
    true: true,
    none: null,
    False: false,
    True: true,
    None: null,
    raise_exception: (message: string) => {
      throw new TemplateRaisedError(message);
    },
    range: boundedRange(budget.range),
    strftime_now: strftimeNow,
  };
  for (const [k, v] of Object.entries({ ...globals, ...items })) env.set(k, v);
  try {
    const result = new BoundedInterpreter(env, budget).run(template.parsed) as { value: string };
    return result.value;
  } catch (err) {
    if (err instanceof RangeError && /call stack/i.test(err.message))
      throw new TemplateBudgetError('the chat template recurses too deep (a macro calling itself without end?)');
    throw err;
  }
}
