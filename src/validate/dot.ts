/**
 * DOT validator: Graphviz itself, compiled to WebAssembly (`@hpcc-js/wasm-graphviz`, which
 * inlines its .wasm in the JS module, so nothing has to be served). The text is parsed and laid
 * out with the chosen engine, as `dot -Tsvg` would; errors are Graphviz's own messages
 * (`syntax error in line 3 near '->'`).
 */
import { dotErrorKind } from './kinds.ts';
import { emptyInputResult, type DotOptions, type ValidationResult, type Validator } from './types.ts';

type GraphvizModule = typeof import('@hpcc-js/wasm-graphviz');
type Graphviz = Awaited<ReturnType<GraphvizModule['Graphviz']['load']>>;

let graphvizModule: Promise<GraphvizModule> | undefined;

function loadModule(): Promise<GraphvizModule> {
  graphvizModule ??= import('@hpcc-js/wasm-graphviz');
  return graphvizModule;
}

const LINE = /in line (\d+)/;

export class DotValidator implements Validator {
  readonly kind = 'dot' as const;
  label = 'Graphviz (wasm)';
  private graphviz: Promise<Graphviz> | undefined;
  private readonly engine: NonNullable<DotOptions['engine']>;

  constructor(options: DotOptions = {}) {
    this.engine = options.engine ?? 'dot';
  }

  private async instance(): Promise<Graphviz> {
    if (!this.graphviz) {
      this.graphviz = loadModule().then((m) => m.Graphviz.load());
      this.graphviz.catch(() => {
        this.graphviz = undefined;
      });
    }
    const gv = await this.graphviz;
    this.label = `Graphviz ${gv.version()}`;
    return gv;
  }

  async validate(text: string): Promise<ValidationResult> {
    if (text.trim() === '') return emptyInputResult();
    const gv = await this.instance();
    let output: string;
    try {
      output = gv.layout(text, 'svg', this.engine);
    } catch (e) {
      // Graphviz reports input errors as messages and stays usable (checked over thousands of
      // errors: later layouts are byte-identical to a fresh instance's). Only a trap of the
      // WebAssembly runtime itself calls for a fresh instance.
      if (e instanceof WebAssembly.RuntimeError) this.graphviz = undefined;
      const message = (e instanceof Error ? e.message : String(e)).replace(/\s+$/, '');
      const m = LINE.exec(message);
      return {
        ok: false,
        errors: [{ message, kind: dotErrorKind(message), ...(m ? { line: Number(m[1]) } : {}) }],
      };
    }
    if (output.trim() === '') {
      return { ok: false, errors: [{ message: 'Graphviz read no graph from the input', kind: 'no-graph' }] };
    }
    return { ok: true, errors: [] };
  }
}
