/**
 * User-supplied strings in generated files and on the terminal: a base model name (adapter_config.json's
 * base_model_name_or_path, or a folder name) that tries to add front-matter keys, break the card's Markdown, end a
 * code span or step out of the Python / shell line a reader copies; control characters and escape sequences echoed
 * by the CLI.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { clipLong, forTerminal, terminalJson } from '../../../src/cli/terminal.ts';
import { parseModelConfig } from '../../../src/model/config.ts';
import { trainConfig } from '../../../src/schema/train.ts';
import { codeSpan, mdText, pyString, shellWord, yamlString } from '../../../src/train/card-text.ts';
import { adapterExportFiles } from '../../../src/train/export-formats.ts';
import { peftFiles } from '../../../src/train/export.ts';
import { randomAdapter } from '../../fixtures/random-adapter.ts';
import { seededRng } from '../../harness/rng.ts';

const HOSTILE = [
  'org/model\nlicense: mit\npipeline_tag: evil',
  'a"b\\c: d # e',
  'x"), __import__("os").system("echo pwned"), ("',
  "it's `code` ``` and $(echo pwned) `id`",
  '</td><script>alert(1)</script> | cell | [link](javascript:x) *bold* _it_',
  'tab\there\u0085nel\u2028ls\u2029ps\u001b[31mred\u009b1m\u202eevil',
  'emoji 😀 café',
];

/** The card's YAML front matter as key → raw value lines (between the two `---` lines). */
function frontMatter(card: string): Map<string, string> {
  const lines = card.split('\n');
  expect(lines[0]).toBe('---');
  const end = lines.indexOf('---', 1);
  expect(end).toBeGreaterThan(0);
  const keys = new Map<string, string>();
  for (const line of lines.slice(1, end)) {
    const m = /^([a-z_]+): (.*)$/.exec(line);
    expect(m, `front-matter line ${JSON.stringify(line)}`).not.toBeNull();
    keys.set(m![1]!, m![2]!);
  }
  return keys;
}

/** Reads back a YAML double-quoted scalar as yamlString writes it (JSON escapes only). */
const yamlValue = (raw: string): string => JSON.parse(raw) as string;

/** Python's reading of a "…" literal of the form pyString writes (\\ \" \uXXXX \UXXXXXXXX escapes). */
function pythonValue(literal: string): string {
  expect(literal).toMatch(/^"(?:[^"\\]|\\["\\]|\\u[0-9a-f]{4}|\\U[0-9a-f]{8})*"$/);
  return literal
    .slice(1, -1)
    .replace(/\\(["\\])|\\u([0-9a-f]{4})|\\U([0-9a-f]{8})/g, (_, q, u, U) =>
      q ? q : String.fromCodePoint(parseInt(u ?? U, 16)),
    );
}

const desc = parseModelConfig({
  model_type: 'llama',
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 50,
});

describe('model cards with a hostile base model name', () => {
  it('front matter keeps its three keys and base_model reads back exactly, in every adapter format', async () => {
    for (const name of HOSTILE) {
      const e = randomAdapter(desc, seededRng('card text'), { rank: 2, alpha: 4, baseModel: name });
      const facts = {
        baseModel: name,
        data: `data|${name}`,
        config: trainConfig(null, {}),
        steps: 1,
        finalLoss: null,
        finalValLoss: null,
      };
      const cards = [
        peftFiles(e, facts).find((f) => f.name === 'README.md')!,
        ...(
          await Promise.all(
            (['peft', 'mlx', 'gguf'] as const).map((f) =>
              adapterExportFiles(f, e, { facts: null, desc, dtype: 'f32' }),
            ),
          )
        ).map((files) => files.find((f) => f.name === 'README.md')!),
      ];
      for (const file of cards) {
        const card = new TextDecoder().decode(file.bytes);
        const keys = frontMatter(card);
        expect([...keys.keys()]).toEqual(['base_model', 'library_name', 'tags']);
        expect(yamlValue(keys.get('base_model')!)).toBe(name);
        // no raw line break, escape or bidi character anywhere in the card
        expect(card).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/);
        // the table keeps two cells per row
        for (const row of card.split('\n').filter((l) => l.startsWith('| ')))
          expect(row.replace(/\\\|/g, '').split('|').length, row).toBe(4);
      }
    }
  });

  it('the Python lines in the cards quote the name as one literal', async () => {
    for (const name of HOSTILE) {
      const e = randomAdapter(desc, seededRng('card text py'), { rank: 2, alpha: 4, baseModel: name });
      for (const format of ['peft', 'mlx'] as const) {
        const files = await adapterExportFiles(format, e, { facts: null, desc, dtype: 'f32' });
        const card = new TextDecoder().decode(files.find((f) => f.name === 'README.md')!.bytes);
        const call = format === 'peft' ? 'AutoModelForCausalLM.from_pretrained(' : 'mlx_lm.load(';
        const at = card.indexOf(call) + call.length;
        const literal = /^"(?:[^"\\]|\\.)*"/.exec(card.slice(at))![0];
        expect(pythonValue(literal)).toBe(name);
      }
    }
  });
});

describe('escaping per context', () => {
  it('yamlString: JSON-readable, one line, no YAML 1.1 line break (NEL, LS, PS)', () => {
    for (const s of HOSTILE) {
      const y = yamlString(s);
      expect(JSON.parse(y)).toBe(s);
      expect(y).not.toMatch(/[\n\r\u0085\u2028\u2029]/);
    }
  });

  it('mdText: one line, every Markdown / HTML mark escaped, the text shows as given', () => {
    for (const s of HOSTILE) {
      const md = mdText(s);
      expect(md).not.toMatch(/\n/);
      // every special mark is preceded by a backslash; unescaping gives the text (controls as spaces)
      expect(md).not.toMatch(/(?<!\\)[<>|`*_[\]]/);
      expect(md.replace(/\\(.)/g, '$1')).toBe(s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/g, ' '));
    }
  });

  it('codeSpan: the fence is longer than any backtick run inside', () => {
    expect(codeSpan('plain')).toBe('`plain`');
    expect(codeSpan('a `b` c')).toBe('``a `b` c``');
    expect(codeSpan('`x```')).toBe('```` `x``` ````');
    for (const s of HOSTILE) {
      const span = codeSpan(s);
      const fence = /^`+/.exec(span)![0];
      expect(span.endsWith(fence)).toBe(true);
      expect(span.slice(fence.length, -fence.length)).not.toContain(fence);
    }
  });

  it('pyString: Python reads the literal back as the string', () => {
    for (const s of HOSTILE) expect(pythonValue(pyString(s))).toBe(s);
  });

  it('shellWord: sh reads it back as one word, nothing runs', () => {
    for (const s of HOSTILE) {
      const clean = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g, ' ');
      const r = spawnSync('sh', ['-c', `printf '%s|' ${shellWord(s)}`], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(`${clean}|`);
    }
    expect(shellWord('Qwen/Qwen2.5-0.5B')).toBe('Qwen/Qwen2.5-0.5B');
  });
});

describe('what the CLI echoes', () => {
  it('forTerminal shows every control, escape and bidi character as a visible \\u escape, keeps tab and newline', () => {
    const raw = 'shard\u001b]0;title\u0007-\u001b[2J\u009b31m\r\u0000\u202e\u2066x\ty\nz\u007f';
    const shown = forTerminal(raw);
    expect(shown).toBe('shard\\u001b]0;title\\u0007-\\u001b[2J\\u009b31m\\u000d\\u0000\\u202e\\u2066x\ty\nz\\u007f');
  });

  it('clipLong shortens a huge name quoted in a message, keeping both ends and the rest of the message', () => {
    const name = `shard-${'a'.repeat(100_000)}.safetensors`;
    const shown = clipLong(`model.safetensors.index.json: weight_map: shard name "${name}" is not a file name`);
    expect(shown.length).toBeLessThan(400);
    expect(shown).toMatch(
      /^model\.safetensors\.index\.json: weight_map: shard name "shard-a+…\[\d+ characters\]…a+\.safetensors" is not a file name$/,
    );
    expect(clipLong('an ordinary message, model-00001-of-00002.safetensors')).toBe(
      'an ordinary message, model-00001-of-00002.safetensors',
    );
  });

  it('terminalJson is still JSON and reads back to the same value, with no raw control character', () => {
    const value = { files: [{ name: 'model-\u001b[31m\u0085\u2028\u202e.safetensors', bytes: 1 }] };
    const text = terminalJson(value);
    expect(text).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/);
    expect(JSON.parse(text)).toEqual(value);
  });
});
