/**
 * The dataset-folder target: a folder a user might drop, built at random from the fixtures: data files (some
 * mutated), problem folders with names that differ by case (NL.txt / nl.txt, a second asp.txt) and binary parts,
 * symbolic links (to a file, to a folder, broken, to itself, a loop of two, to the folder above), a FIFO, hidden and
 * empty files, a binary named .jsonl, unknown extensions, deep nesting and odd names (spaces, a leading dash,
 * non-ASCII, a newline, an escape sequence). `cli data FOLDER --json`; an accepted run must account for every entry
 * (./dataset-checks.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Rng } from '../../harness/rng.ts';
import { pick } from '../mutate.ts';
import type { FuzzCase, FuzzTarget } from '../target.ts';
import { folderCase } from './dataset-checks.ts';
import { mutateData } from './datasets.ts';

const FIXTURES = join(process.cwd(), 'test', 'fixtures', 'datasets');

interface Seeds {
  data: { name: string; bytes: Uint8Array }[];
  nl: Uint8Array;
  asp: Uint8Array;
}

const ODD_NAMES = [
  'with space.jsonl',
  '-leading-dash.jsonl',
  'ünïcødé ñandú.jsonl',
  'new\nline.jsonl',
  'escape \u001b[31mred\u001b[0m.jsonl',
  '..dots.jsonl',
  `${'long'.repeat(40)}.jsonl`,
  'UPPER.JSONL',
  'no-extension',
  'data.jsonl.bak',
  'notes.md',
  '.hidden.jsonl',
];

function noise(rng: Rng, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => rng.int(0, 256));
}

async function put(path: string, bytes: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
}

async function build(seeds: Seeds, rng: Rng | null, root: string): Promise<string[]> {
  const notes: string[] = [];
  const chance = (p: number) => rng !== null && rng.next() < p;
  for (const f of seeds.data) {
    if (chance(0.3)) {
      const m = mutateData(rng!, f.bytes);
      await put(join(root, f.name), m.bytes);
      notes.push(`${f.name}: ${m.note}`);
    } else await put(join(root, f.name), f.bytes);
  }
  const problems = join(root, 'asp');
  await put(join(problems, 'p1', 'NL.txt'), seeds.nl);
  await put(join(problems, 'p1', 'ASP.txt'), seeds.asp);
  if (!rng) return notes;
  const p = join(problems, pick(rng, ['p1', 'p2', 'Problem Two', '-p3']));
  if (chance(0.5)) {
    const name = pick(rng, ['nl.txt', 'NL.TXT', 'asp.txt', 'Asp.txt', 'IR.txt', 'ir.txt', 'ASP.txt', 'NL.txt']);
    const bytes = chance(0.3) ? noise(rng, rng.int(1, 600)) : chance(0.5) ? seeds.asp : seeds.nl;
    await put(join(p, name), bytes);
    notes.push(`problem file ${name}`);
  }
  if (chance(0.2)) {
    await put(join(p, pick(rng, ['notes.lp', 'README', 'solution.txt'])), 'x');
    notes.push('extra file in a problem folder');
  }
  const links: [string, string][] = [
    ['link-file.jsonl', join(root, seeds.data[0]!.name)],
    ['link-dir', problems],
    ['broken.jsonl', join(root, 'missing.jsonl')],
    ['self.jsonl', join(root, 'self.jsonl')],
    ['up', root],
    ['outside', dirname(root)],
  ];
  for (const [name, target] of links)
    if (chance(0.25)) {
      await symlink(target, join(root, name)).catch(() => undefined);
      notes.push(`link ${name}`);
    }
  if (chance(0.15)) {
    await symlink(join(root, 'pong'), join(root, 'ping'));
    await symlink(join(root, 'ping'), join(root, 'pong'));
    notes.push('link loop');
  }
  if (chance(0.15)) {
    execFileSync('mkfifo', [join(root, 'queue.jsonl')]);
    notes.push('fifo');
  }
  for (let i = 0; i < 3; i++)
    if (chance(0.3)) {
      const name = pick(rng, ODD_NAMES);
      await put(join(root, name), pick(rng, seeds.data).bytes);
      notes.push(`odd name ${JSON.stringify(name)}`);
    }
  if (chance(0.2)) {
    await put(join(root, pick(rng, ['image.jsonl', 'blob.txt', 'model.csv'])), noise(rng, rng.int(1, 5000)));
    notes.push('binary file');
  }
  if (chance(0.15)) {
    await put(join(root, 'empty.jsonl'), '');
    notes.push('empty file');
  }
  if (chance(0.1)) {
    await put(join(root, 'a/b/c/d/e/f/g/h/deep.jsonl'), seeds.data[0]!.bytes);
    notes.push('deep folder');
  }
  return notes;
}

export const folderTarget: FuzzTarget<Seeds> = {
  name: 'dataset-folder',
  description: 'a dropped folder: data files, problem folders by case, links, a FIFO, binaries, odd names; cli data',
  async prepare() {
    const read = async (rel: string, name: string) => ({
      name,
      bytes: new Uint8Array(await readFile(join(FIXTURES, rel))),
    });
    return {
      data: [
        await read('personas/eli5.jsonl', 'eli5.jsonl'),
        await read('bad_inputs/broken.jsonl', 'broken-rows.jsonl'),
      ],
      nl: new Uint8Array(await readFile(join(FIXTURES, 'asp_benchmark', 'graph_coloring', 'NL.txt'))),
      asp: new Uint8Array(await readFile(join(FIXTURES, 'asp_benchmark', 'graph_coloring', 'ASP.txt'))),
    };
  },
  async seedCase(seeds, dir) {
    const root = join(dir, 'drop');
    await build(seeds, null, root);
    return folderCase(root, [], 'seed');
  },
  async makeCase(seeds, rng, dir): Promise<FuzzCase> {
    const root = join(dir, 'drop');
    const notes = await build(seeds, rng, root);
    return folderCase(root, ['drop'], notes.join('; ') || 'nothing changed');
  },
};
