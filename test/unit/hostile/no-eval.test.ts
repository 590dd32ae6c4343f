/**
 * The app's Content-Security-Policy allows no 'unsafe-eval' (src/app/csp.ts), so nothing the page or a worker runs may
 * turn a string into code. The two libraries that would (zod's compiled object parsers, a compiling JSON-schema
 * validator) are checked here with `Function` and `eval` replaced by counting proxies: zod set jitless by
 * src/schema/jitless.ts, and the JSON validator with a schema, must build no function. And every entry point (the page
 * and each worker) must import jitless.ts before anything else, since zod reads the setting when a schema is built.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

const calls: string[] = [];

function countingProxies(): void {
  const RealFunction = Function;
  const realEval = globalThis.eval;
  vi.stubGlobal(
    'Function',
    new Proxy(RealFunction, {
      construct(target, args: unknown[]) {
        calls.push(`new Function(${args.map(String).join(', ').slice(0, 80)})`);
        return Reflect.construct(target, args) as object;
      },
      apply(target, self, args: unknown[]) {
        calls.push(`Function(${args.map(String).join(', ').slice(0, 80)})`);
        return Reflect.apply(target, self, args) as unknown;
      },
    }),
  );
  vi.stubGlobal(
    'eval',
    new Proxy(realEval, {
      apply(target, self, args: unknown[]) {
        calls.push(`eval(${String(args[0]).slice(0, 80)})`);
        return Reflect.apply(target, self, args) as unknown;
      },
    }),
  );
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : /\.tsx?$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

describe('no code from strings (CSP without unsafe-eval)', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('zod (jitless) and the JSON-schema validator build no function', async () => {
    countingProxies();
    await import('../../../src/schema/jitless.ts');
    const { z } = await import('zod');
    const { TrainConfigSchema } = await import('../../../src/schema/train.ts');
    const { JsonValidator } = await import('../../../src/validate/json.ts');
    const record = z.object({ name: z.string(), tags: z.array(z.object({ id: z.number() })) });
    expect(record.parse({ name: 'a', tags: [{ id: 1 }] })).toEqual({ name: 'a', tags: [{ id: 1 }] });
    expect(TrainConfigSchema.safeParse({}).success).toBeTypeOf('boolean');
    const v = new JsonValidator({
      schema: { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 0 } } },
    });
    expect((await v.validate('{"id": 3}')).ok).toBe(true);
    expect((await v.validate('{"id": -3}')).ok).toBe(false);
    expect(calls).toEqual([]);
  });

  it('the page and every worker import jitless.ts first', () => {
    const src = join(process.cwd(), 'src');
    const entries = [join(src, 'app', 'main.tsx')];
    for (const file of sourceFiles(src)) {
      for (const m of readFileSync(file, 'utf8').matchAll(/new Worker\(new URL\('([^']+)'/g)) {
        entries.push(join(dirname(file), m[1]!));
      }
    }
    expect(entries.length).toBeGreaterThanOrEqual(5);
    for (const entry of entries) {
      const firstImport = /^import\s+(?:[^'"]*from\s+)?'([^']+)'/m.exec(readFileSync(entry, 'utf8'));
      expect(firstImport && join(dirname(entry), firstImport[1]!), relative(src, entry)).toBe(
        join(src, 'schema', 'jitless.ts'),
      );
    }
  });
});
