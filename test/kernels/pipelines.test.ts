/**
 * The pipelines this product replaces, end to end through the CLI on a tiny model of the pipeline's architecture,
 * the sample dataset of its layout and its preset, for 2 steps with an evaluation and samples; each exports and its
 * written settings are checked against the pipeline's numbers. Here: DOT QLoRA on Gemma 2 with a system prompt
 * (folded for sampling as for training), r16 α32 q/k/v/o on an NF4 base; then `cli evaluate` prints validity and
 * loss for the base and the adapter, and a kept checkpoint exports like an adapter. PIPELINES_LOG=FILE appends the
 * commands' progress there. And raw Markdown chapters on Mistral: `--split 1` trains on every chapter, and the
 * tokenizer files are saved with the adapter.
 * (SwiftShader under load is slow: the first step of a run compiles every shader).
 */
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { commands } from '../../src/cli/commands/index.ts';
import { makeTinyModel, type TinyModelOptions } from '../fixtures/make-models.ts';
import type { TinyArch } from '../fixtures/tiny-model-specs.ts';

const root = mkdtempSync(join(tmpdir(), 'pipelines-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const DATA = (...p: string[]) => join(__dirname, '..', 'fixtures', 'datasets', ...p);

/** Runs a CLI command, capturing what it prints. */
async function cli(name: string, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => {
    out += String(c);
    return true;
  });
  const log = process.env.PIPELINES_LOG;
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => {
    err += String(c);
    if (log) appendFileSync(log, `${(performance.now() / 1000).toFixed(1)} ${String(c)}`);
    return true;
  });
  const t0 = performance.now();
  try {
    const code = await commands[name]!.run(argv);
    if (log) appendFileSync(log, `${name} took ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    return { code, out, err };
  } catch (x) {
    throw new Error(`${name} failed: ${x instanceof Error ? x.message : String(x)}\n${err}`);
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

async function model(name: string, arch: TinyArch, options: TinyModelOptions = {}): Promise<string> {
  const dir = join(root, name);
  await makeTinyModel(arch, dir, options);
  return dir;
}

type Line = Record<string, unknown> & { step: number };
const metrics = (dir: string): Line[] =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

/** Two steps, one evaluation at the end with one sample, checkpoints kept. */
const SHORT = ['--steps', '2', '--batch', '1', '--grad-accum', '1', '--eval-every', '2', '--samples', '1'];
const SHORT_SAMPLES = ['--sample-tokens', '4', '--save-every', '1', '--keep-checkpoints', '2'];

/** The run finished both steps, evaluated at the end and sampled with the validator. */
function expectEvaluated(dir: string, validated: boolean): Line[] {
  const lines = metrics(dir);
  expect(lines.filter((l) => 'loss' in l).map((l) => l.step)).toEqual([1, 2]);
  const val = lines.filter((l) => 'val_loss' in l);
  expect(val.map((l) => l.step)).toEqual([2]);
  expect(Number.isFinite(val[0]!.val_loss)).toBe(true);
  const sampled = lines.filter((l) => 'samples' in l) as (Line & {
    samples: { output: string; valid: boolean | null; error?: string }[];
  })[];
  expect(sampled.map((l) => l.step)).toEqual([2]);
  expect(sampled[0]!.samples).toHaveLength(1);
  for (const s of sampled[0]!.samples) {
    expect(s.error ?? '').not.toMatch(/could not answer/);
    expect(typeof s.valid).toBe(validated ? 'boolean' : 'object');
  }
  return lines;
}

describe('the five pipelines', () => {
  it('DOT QLoRA on Gemma 2 with a system prompt: trains, evaluates base vs adapter, exports a kept checkpoint', async () => {
    const gemma = await model('gemma2', 'gemma2');
    const out = join(root, 'dot');
    const system = 'You convert descriptions into Graphviz DOT. Answer with the graph only.';
    const r = await cli('train', [
      ...['--model', gemma, '--data', DATA('dot_pairs'), '--out', out, '--preset', 'dot-qlora'],
      ...['--system-prompt', system, '--max-length', '320', '--validator', 'dot', ...SHORT, ...SHORT_SAMPLES],
    ]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/gemma2 \(nf4 base\)/);
    expectEvaluated(out, true);
    expect(json(join(out, 'adapter_config.json'))).toMatchObject({
      r: 16,
      lora_alpha: 32,
      target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'],
    });
    // Checkpoints of both steps are kept, and the first one exports like an adapter.
    expect(readdirSync(join(out, 'checkpoints')).sort()).toEqual([
      'step-000001.safetensors',
      'step-000002.safetensors',
    ]);
    const fromCkpt = join(root, 'dot-step1');
    const ex = await cli('export', [
      ...['--checkpoint', join(out, 'checkpoints', 'step-000001.safetensors'), '--model', gemma],
      ...['--format', 'peft', '--out', fromCkpt],
    ]);
    expect(ex.code).toBe(0);
    expect(json(join(fromCkpt, 'adapter_config.json'))).toMatchObject({ r: 16, lora_alpha: 32 });

    // Base vs adapter on the DOT sample data, with the system prompt: validity and loss for each.
    const ev = await cli('evaluate', [
      ...['--model', gemma, '--adapter', out, '--data', DATA('dot_pairs', 'documentation.jsonl'), '--validator', 'dot'],
      ...['--system-prompt', system, '--samples', '1', '--sample-tokens', '4', '--max-length', '320'],
    ]);
    expect(ev.code).toBe(0);
    const rows = ev.out.split('\n');
    expect(rows[0]).toMatch(/^model\s+loss\s+validity\s+samples/);
    const base = /^base\s+(\d+\.\d+)\s+(\d+\.\d%)\s+(\d)\/1/.exec(rows[1]!);
    const adapter = new RegExp(
      `^${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+(\\d+\\.\\d+)\\s+(\\d+\\.\\d%)\\s+(\\d)/1`,
    ).exec(rows[2]!);
    expect(base, ev.out).not.toBeNull();
    expect(adapter, ev.out).not.toBeNull();
    // The adapter changed the model: its loss on the same rows differs from the base's.
    expect(Number(adapter![1])).not.toBe(Number(base![1]));
    expect(ev.out).toContain('## base');
  });

  it('raw Markdown chapters on Mistral: trains on every chapter and saves the tokenizer', async () => {
    const mistral = await model('mistral', 'mistral');
    const out = join(root, 'chapters');
    const r = await cli('train', [
      ...['--model', mistral, '--data', DATA('chapters'), '--out', out, '--preset', 'raw-text', '--split', '1'],
      ...SHORT,
      ...SHORT_SAMPLES,
    ]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/mistral \(bf16 base\) on 4 rows \(0 validation\)/);
    const lines = metrics(out);
    expect(lines.filter((l) => 'loss' in l).map((l) => l.step)).toEqual([1, 2]);
    expect(json(join(out, 'adapter_config.json'))).toMatchObject({ r: 8, lora_alpha: 16 });
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) expect(readdirSync(out)).toContain(f);
    expect(readFileSync(join(out, 'tokenizer.json'), 'utf8')).toBe(
      readFileSync(join(mistral, 'tokenizer.json'), 'utf8'),
    );
  });
});
