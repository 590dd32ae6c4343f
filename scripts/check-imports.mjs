#!/usr/bin/env node
/**
 * `node scripts/check-imports.mjs`: fails (exit 1) when an import in `src/` runs upward or sideways between layers, or
 * when files import each other in a circle. The rules and the exemption comment are in `scripts/import-rules.mjs`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { checkImports } from './import-rules.mjs';

const paths = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', 'src'], {
  encoding: 'utf8',
})
  .split('\n')
  .filter((p) => /\.(ts|tsx|mts|js|mjs)$/.test(p) && !p.endsWith('.d.ts'));
const problems = checkImports(paths.map((path) => ({ path, text: readFileSync(path, 'utf8') })));
for (const p of problems) console.error(p);
if (problems.length > 0) {
  console.error(`imports: ${problems.length} problem(s) in ${paths.length} files`);
  process.exitCode = 1;
} else {
  console.log(`imports: ${paths.length} files, every import runs downward, no circles`);
}
