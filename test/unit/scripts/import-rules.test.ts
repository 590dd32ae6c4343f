/**
 * The import-direction check of the lint stage (scripts/check-imports.mjs): it must fail on an upward or sideways
 * import and on a circle, accept a marked exception, and pass on the tree as it is.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkImports, circles, importsOf, LAYERS } from '../../../scripts/import-rules.mjs';

const file = (path: string, ...imports: string[]) => ({ path, text: imports.join('\n') + '\nexport const x = 1;\n' });

describe('import direction', () => {
  it('accepts imports that run downward, within a folder and into the shaders from kernels', () => {
    expect(
      checkImports([
        file('src/app/App.tsx', "import type { X } from '../worker/contract.ts';", "import { y } from './y.ts';"),
        file('src/app/y.ts', "import { z } from '../schema/train.ts';"),
        file('src/train/run.ts', "import { SeededRng } from '../util/rng.ts';"),
        file('src/kernels/glu.ts', "import source from '../../shaders/glu.wgsl?raw';"),
      ]),
    ).toEqual([]);
  });

  it('fails an upward import, a sideways one and a shader read outside gpu/kernels, naming the file and line', () => {
    const problems = checkImports([
      file(
        'src/storage/db.ts',
        "import { a } from './a.ts';",
        "import type { RunInfo } from '../worker/contract-runs.ts';",
      ),
      file('src/formats/phi3-fuse.ts', "import type { ModelDescription } from '../model/config.ts';"),
      file('src/model/x.ts', "const m = await import('../train/rng.ts');"),
      file('src/train/y.ts', "import s from '../../shaders/glu.wgsl?raw';"),
    ]);
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/^src\/storage\/db\.ts:2: imports src\/worker\/contract-runs\.ts — storage may not/);
    expect(problems[1]).toMatch(/^src\/formats\/phi3-fuse\.ts:1: .* formats may not import from model/);
    expect(problems[2]).toMatch(/^src\/model\/x\.ts:1: .* model may not import from train/);
    expect(problems[3]).toMatch(/^src\/train\/y\.ts:1: .* train may not import from shaders/);
  });

  it('fails a circle, also one closed by `import type` or a dynamic import, and names every file in it', () => {
    const problems = checkImports([
      file('src/worker/chat.ts', "import { db } from './export.ts';"),
      file('src/worker/export.ts', "import { src } from './models.ts';"),
      file('src/worker/models.ts', "import type { C } from './chat.ts';"),
      file('src/train/a.ts', "const b = () => import('./b.ts');"),
      file('src/train/b.ts', "import { a } from './a.ts';"),
    ]);
    expect(problems).toEqual([
      'import circle: src/train/a.ts ↔ src/train/b.ts',
      'import circle: src/worker/chat.ts ↔ src/worker/export.ts ↔ src/worker/models.ts',
    ]);
    expect(circles([{ from: 'a', to: 'a' }])).toEqual([['a']]);
  });

  it('lets a marked import through, on its line or the line above, only with a reason', () => {
    const marked = checkImports([
      file('src/model/x.ts', "import { r } from '../train/rng.ts'; // import-direction: measured in bench only"),
      file(
        'src/model/y.ts',
        '// import-direction: the worker types are erased at build',
        "import type { W } from '../worker/w.ts';",
      ),
      file('src/train/a.ts', "import { b } from './b.ts'; // import-direction: lazy registry"),
      file('src/train/b.ts', "import { a } from './a.ts';"),
    ]);
    expect(marked).toEqual([]);
    const bare = checkImports([file('src/model/x.ts', "import { r } from '../train/rng.ts'; // import-direction:")]);
    expect(bare).toHaveLength(1);
  });

  it('refuses a folder of src/ that has no place in the layers', () => {
    expect(checkImports([file('src/helpers/x.ts')])[0]).toMatch(/src\/helpers\/ has no place in LAYERS/);
  });

  it('knows every folder of src/, and the tree follows the rules', () => {
    const paths = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', 'src'], {
      encoding: 'utf8',
    })
      .split('\n')
      .filter((p) => /\.(ts|tsx)$/.test(p) && !p.endsWith('.d.ts'));
    const folders = new Set(
      paths
        .map((p) => p.split('/'))
        .filter((p) => p.length > 2)
        .map((p) => p[1]!),
    );
    expect([...folders].filter((f) => !(f in LAYERS))).toEqual([]);
    expect(importsOf('src/a/b.ts', "import x from '../c/d.ts?raw';")[0]?.to).toBe('src/c/d.ts');
    expect(checkImports(paths.map((path) => ({ path, text: readFileSync(path, 'utf8') })))).toEqual([]);
  }, 60_000); // parses every file of src/ (2 s alone; far longer on a loaded machine)
});
