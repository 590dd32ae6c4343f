/**
 * README's "Layout" table against the tree: every folder of src/ and test/ and every top-level folder has a row, every
 * path a row names exists, and every file a row's description names (`name.ts`, `name.md`, …) is under that row's
 * path. A folder added, moved or removed without its row fails here.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '../../..');
const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
  cwd: ROOT,
  encoding: 'utf8',
})
  .split('\n')
  .filter((p) => p.length > 0 && existsSync(join(ROOT, p)));

/** The rows of the table under "## Layout": the paths of the first column and the text of the second. */
function layoutRows(): { paths: string[]; text: string }[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = /^## Layout\n([\s\S]*?)(?=^## |$(?![\s\S]))/m.exec(readme)?.[1] ?? '';
  return section
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) => {
      const [, first = '', second = ''] = l.split('|');
      return { paths: [...first.matchAll(/`([^`]+)`/g)].map((m) => m[1]!), text: second };
    });
}

/** Folders that need a row: each folder of src/ and test/, and each top-level folder other than dot-folders. */
function foldersNeedingRows(): string[] {
  const dirs = new Set<string>();
  for (const p of tracked) {
    const parts = p.split('/');
    if (parts.length < 2 || parts[0]!.startsWith('.')) continue;
    if ((parts[0] === 'src' || parts[0] === 'test') && parts.length > 2) dirs.add(`${parts[0]}/${parts[1]}/`);
    else if (parts[0] !== 'src' && parts[0] !== 'test') dirs.add(`${parts[0]}/`);
  }
  return [...dirs].sort();
}

describe("README's layout table", () => {
  const rows = layoutRows();
  const listed = rows.flatMap((r) => r.paths);

  it('has a row for every folder of src/ and test/ and every top-level folder', () => {
    expect(rows.length).toBeGreaterThan(10);
    expect(foldersNeedingRows().filter((d) => !listed.includes(d))).toEqual([]);
  });

  it('names only paths that exist', () => {
    expect(listed.filter((p) => !existsSync(join(ROOT, p)))).toEqual([]);
  });

  it("names only files that are under the row's path", () => {
    const missing: string[] = [];
    for (const row of rows) {
      for (const m of row.text.matchAll(/`([\w./-]+\.(?:ts|tsx|mjs|wgsl|md))`/g)) {
        const name = m[1]!;
        const found =
          (name.includes('/') && tracked.includes(name)) ||
          row.paths.some((base) =>
            tracked.some((p) => p.startsWith(base) && (p === `${base}${name}` || p.endsWith(`/${name}`))),
          );
        if (!found) missing.push(`${row.paths.join(', ')}: ${name}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
