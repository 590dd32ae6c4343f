/**
 * The ONNX export against the engine and against transformers.js, for every architecture's tiny model with an adapter
 * trained by the training session `cli train` runs (a few steps on two fixed chat turns, so the model's answers are decided):
 *   - `cli export --format onnx` writes f32 and q4; onnxruntime-node's f32 logits = the engine's with the adapter (the
 *     code path of `cli logits --adapter`; the command itself is run once and gives the same numbers);
 *   - the q4 export's argmax over the fixed chat prompt and its trained answer = the f32 export's;
 *   - transformers.js loads the folder from disk (no network) and its greedy generate of 16 tokens for the fixed chat
 *     prompt = the engine's (the code path of `cli generate --chat --adapter`), token for token.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importDataset } from '../../../src/data/import.ts';
import { filesFromPaths } from '../../../src/data/node-files.ts';
import { loadTokenizer } from '../../../src/data/tokenizer.ts';
import { peftConfigJson, peftWeights } from '../../../src/formats/peft.ts';
import { fusePhi3Adapter } from '../../../src/formats/phi3-fuse.ts';
import type { GpuRuntime } from '../../../src/gpu/runtime.ts';
import { trainConfig } from '../../../src/schema/train.ts';
import { adapterFromLora } from '../../../src/train/adapter.ts';
import { TrainingSession } from '../../../src/train/session.ts';
import { generate } from '../../../src/model/generate.ts';
import { stopTokenIds } from '../../../src/model/generation-config.ts';
import { loadModel } from '../../../src/model/loader.ts';
import { loadPeftDir } from '../../../src/model/lora-peft-node.ts';
import { ModelEngine } from '../../../src/model/model.ts';
import { parseModelConfig } from '../../../src/model/config.ts';
import { NodeFolderModelSource } from '../../../src/model/source-node.ts';
import { compareClose, expectClose } from '../../harness/allclose.ts';
import { testRuntime } from '../../harness/device.ts';
import { TOLERANCES } from '../../harness/tolerances.ts';
import { makeTinyModel } from '../../fixtures/make-models.ts';
import { argmaxRows, emptyCache, makeTinyGemma, runStep } from '../../fixtures/onnx-run.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'onnx-export-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const ARCHS = ['llama', 'mistral', 'qwen2', 'qwen3', 'gemma', 'gemma2', 'phi3'] as const;
const PROMPT = 'What color is the sky?';
const TURNS = [
  [PROMPT, 'The sky is blue.'],
  ['Name a fruit.', 'An apple.'],
];

/** Trains an adapter on the fixed turns (pre-split: both in train) and writes it as a PEFT folder. */
async function trainAdapter(rt: GpuRuntime, arch: string, modelDir: string, out: string): Promise<void> {
  const data = join(root, 'chat');
  await mkdir(data, { recursive: true });
  const row = ([q, a]: string[]) =>
    JSON.stringify({
      messages: [
        { role: 'user', content: q },
        { role: 'assistant', content: a },
      ],
    });
  await writeFile(join(data, 'train.jsonl'), `${TURNS.map(row).join('\n')}\n`);
  await writeFile(join(data, 'valid.jsonl'), `${row(TURNS[1]!)}\n`);
  const imported = await importDataset(await filesFromPaths([data]), { maxLength: 128 }, {});
  const session = await TrainingSession.open({
    rt,
    source: await NodeFolderModelSource.open(modelDir),
    modelName: `tiny/${arch}`,
    records: imported.records,
    settings: imported.settings,
    config: trainConfig(null, {
      steps: 8,
      microBatch: 2,
      gradAccum: 1,
      base: 'none',
      maxLength: 128,
      evalEvery: 1000,
      seed: 1,
      lora: { rank: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj', 'o_proj', 'up_proj'] },
      optim: { lr: 0.03, warmupSteps: 0 },
    }),
    owner: `train-${arch}`,
  });
  try {
    expect(await session.run({ onMetric: () => undefined })).toBe('done');
    let e = await adapterFromLora(rt, session.lora, 0, `tiny/${arch}`);
    if (session.lora.fused) e = fusePhi3Adapter(e, session.lora.fused);
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'adapter_model.safetensors'), peftWeights(e, 'f32'));
    await writeFile(join(out, 'adapter_config.json'), peftConfigJson(e));
  } finally {
    session.destroy();
  }
}

/** The engine's logits of `ids` with the PEFT adapter applied unmerged: what `cli logits --adapter` computes. */
async function engineLogits(
  rt: GpuRuntime,
  modelDir: string,
  adapterDir: string,
  ids: number[],
  owner: string,
): Promise<Float32Array> {
  const { weights } = await loadModel(rt, await NodeFolderModelSource.open(modelDir), { quant: 'none', owner });
  const lora = await loadPeftDir(rt, weights.desc, adapterDir);
  const engine = new ModelEngine(rt, weights, 1, ids.length, lora, 'inference');
  try {
    return await engine.logits({ ids: Uint32Array.from(ids), B: 1, T: ids.length });
  } finally {
    engine.destroy();
    rt.memory.destroyOwner(owner);
  }
}

/**
 * Rows ≥ `from` where the model has decided: its top logit leads the runner-up by more than `fraction` of the row's
 * logit range. Scale-free, because 4-bit weight error scales with the logits: tiny Gemma's trained logits span ~6 with
 * leads under 1, where an absolute margin of 1 left no row to check. Measured over the seven architectures' trained
 * tiny models: q4 flipped the top token only on rows leading by ≤ 0.22 of ranges ≥ 5 (≤ 4% of the range).
 */
function decidedRows(logits: Float32Array, V: number, from: number, fraction: number): number[] {
  const rows: number[] = [];
  for (let r = from; r * V < logits.length; r++) {
    const row = Array.from(logits.subarray(r * V, (r + 1) * V)).sort((a, b) => b - a);
    if (row[0]! - row[1]! > fraction * (row[0]! - row[row.length - 1]!)) rows.push(r);
  }
  return rows;
}

describe('ONNX export: onnxruntime and transformers.js against the engine', () => {
  for (const arch of ARCHS) {
    it(arch, async () => {
      const modelDir = join(root, `model-${arch}`);
      if (arch === 'gemma') await makeTinyGemma(modelDir);
      else await makeTinyModel(arch, modelDir);
      const adapterDir = join(root, `adapter-${arch}`);
      const rt = await testRuntime();
      await trainAdapter(rt, arch, modelDir, adapterDir);
      const onnxDir = join(root, `onnx-${arch}`);
      const { command: exportCmd } = await import('../../../src/cli/commands/export.ts');
      expect(
        await exportCmd.run([
          '--adapter',
          adapterDir,
          '--model',
          modelDir,
          '--format',
          'onnx',
          '--variants',
          'f32,q4',
          '--out',
          onnxDir,
        ]),
      ).toBe(0);
      // The fixed chat prompt and its trained answer, as the engine's tokenizer renders it.
      const source = await NodeFolderModelSource.open(modelDir);
      const tokenizer = await loadTokenizer((name) => source.readText(name));
      const promptIds = tokenizer.encode(
        tokenizer.renderChat([{ role: 'user', content: PROMPT }], { addGenerationPrompt: true }),
        false,
      );
      const seq = tokenizer.encode(
        tokenizer.renderChat(
          [
            { role: 'user', content: PROMPT },
            { role: 'assistant', content: TURNS[0]![1]! },
          ],
          {},
        ),
        false,
      );

      const engine = await engineLogits(rt, modelDir, adapterDir, seq, `logits-${arch}`);
      if (arch === 'llama') {
        // The command itself once (with its own GPU runtime): the same numbers.
        const { command: logitsCmd } = await import('../../../src/cli/commands/logits.ts');
        const file = join(root, `logits-${arch}.json`);
        const argv = ['--model', modelDir, '--adapter', adapterDir, '--tokens', seq.join(','), '--out', file];
        expect(await logitsCmd.run(argv)).toBe(0);
        const cli = (JSON.parse(await readFile(file, 'utf8')) as { logits: number[][] }).logits.flat();
        expect(Float32Array.from(cli)).toEqual(engine);
      }
      const d = parseModelConfig(JSON.parse((await source.readText('config.json'))!));
      const f32 = await ort.InferenceSession.create(join(onnxDir, 'onnx', 'model.onnx'));
      const ortLogits = (await runStep(f32, seq, 0, emptyCache(d, 1))).logits;
      const r = compareClose(ortLogits, engine, TOLERANCES.onnx_vs_engine_f32);
      console.log(
        `[bound] onnx vs engine ${arch}: max abs ${r.maxAbs.toExponential(2)}, norm-wise ${r.normRel.toExponential(2)}`,
      );
      expectClose(`${arch} onnxruntime f32 vs cli logits --adapter`, ortLogits, engine, TOLERANCES.onnx_vs_engine_f32);

      const q4 = await ort.InferenceSession.create(join(onnxDir, 'onnx', 'model_q4.onnx'));
      const q4Logits = (await runStep(q4, seq, 0, emptyCache(d, 1))).logits;
      const rq = compareClose(q4Logits, ortLogits, TOLERANCES.onnx_q4_vs_f32);
      console.log(
        `[bound] onnx q4 trained ${arch}: max abs ${rq.maxAbs.toExponential(2)}, norm-wise ${rq.normRel.toExponential(2)}`,
      );
      expectClose(`${arch} q4 vs f32 (trained adapter)`, q4Logits, ortLogits, TOLERANCES.onnx_q4_vs_f32);
      // Where the trained answer is predicted (from the end of the prompt on) and the f32 model has decided (its top
      // logit leads by more than a tenth of the row's range), q4 picks the same token.
      const V = d.vocab;
      const from = promptIds.length - 1;
      const decided = decidedRows(ortLogits, V, from, 0.1);
      const q4Top = decided.map((r) => argmaxRows(q4Logits.subarray(r * V, (r + 1) * V), V)[0]);
      const f32Top = decided.map((r) => argmaxRows(ortLogits.subarray(r * V, (r + 1) * V), V)[0]);
      console.log(`[argmax] q4 ${arch}: ${decided.length} of ${seq.length - from} answer positions decided`);
      expect(decided.length).toBeGreaterThan(0);
      expect(q4Top).toEqual(f32Top);
      // The engine's greedy answer, as cli generate --chat --adapter computes it.
      const owner = `onnx-${arch}`;
      const { weights } = await loadModel(rt, source, { quant: 'none', owner });
      const lora = await loadPeftDir(rt, weights.desc, adapterDir);
      const eng = new ModelEngine(rt, weights, 1, promptIds.length + 16, lora, 'inference');
      let ours: number[];
      try {
        const eos = stopTokenIds(weights.desc, await source.readText('generation_config.json'), tokenizer.eosTokenId);
        const result = await generate(rt, eng, promptIds, {
          maxNewTokens: 16,
          eosTokenIds: eos,
          temperature: 0,
          seed: 0,
        });
        ours = result.tokens;
      } finally {
        eng.destroy();
        rt.memory.destroyOwner(owner);
      }
      // transformers.js from the exported folder, offline.
      const tjs = await import('@huggingface/transformers');
      tjs.env.allowRemoteModels = false;
      tjs.env.localModelPath = root;
      const name = `onnx-${arch}`;
      const tok = await tjs.AutoTokenizer.from_pretrained(name, { local_files_only: true });
      const model = await tjs.AutoModelForCausalLM.from_pretrained(name, {
        local_files_only: true,
        dtype: 'fp32',
        device: 'cpu',
      });
      const inputs = tok.apply_chat_template([{ role: 'user', content: PROMPT }], {
        add_generation_prompt: true,
        return_dict: true,
      }) as {
        input_ids: { tolist(): bigint[][] };
      };
      expect(inputs.input_ids.tolist()[0]!.map(Number)).toEqual(promptIds);
      const out = (await model.generate({ ...inputs, max_new_tokens: 16, do_sample: false })) as {
        tolist(): bigint[][];
      };
      const theirs = out.tolist()[0]!.map(Number).slice(promptIds.length);
      console.log(`[generate] ${arch}: engine ${ours.join(',')} | transformers.js ${theirs.join(',')}`);
      expect(theirs).toEqual(ours);
      await model.dispose();
    });
  }
});
