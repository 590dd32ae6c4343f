/**
 * The greedy decode loop of the Try page's onnxruntime-web check (src/worker/onnx-decode.ts), run here on
 * onnxruntime-node with the same code: every token it picks with the KV cache fed back is the argmax of a full pass
 * over the prompt and the tokens before it (no cache), in f32 and in fp16 (whose cache inputs are float16); it
 * streams each token once, in order, and stops after a stop id.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseModelConfig } from '../../../src/model/config.ts';
import { NodeFolderModelSource } from '../../../src/model/source-node.ts';
import { exportOnnxModel, ONNX_FILE, type OnnxVariant } from '../../../src/train/onnx/export-onnx.ts';
import { argmaxLast, cacheDtype, emptyCache, greedyDecode, stepFeeds } from '../../../src/worker/onnx-decode.ts';
import { makeTinyModel, type TinyModel } from '../../fixtures/make-models.ts';
import { memorySink } from '../../fixtures/memory-sink.ts';
import { randomAdapter } from '../../fixtures/random-adapter.ts';
import { seededRng } from '../../harness/rng.ts';

let root: string;
let model: TinyModel;
const sink = memorySink();
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'onnx-decode-'));
  model = await makeTinyModel('mistral', join(root, 'mistral'));
  const desc = parseModelConfig(model.config);
  const adapter = randomAdapter(desc, seededRng('onnx decode adapter'), { rank: 4 });
  await exportOnnxModel(await NodeFolderModelSource.open(model.dir), adapter, sink, { variants: ['f32', 'f16'] });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('greedy decoding with the KV cache fed back', () => {
  for (const variant of ['f32', 'f16'] as OnnxVariant[]) {
    it(`${variant}: each token is the argmax of a full pass over everything before it`, async () => {
      const d = parseModelConfig(model.config);
      const session = await ort.InferenceSession.create(sink.files.get(`onnx/${ONNX_FILE[variant]}`)!);
      expect(cacheDtype(session)).toBe(variant === 'f16' ? 'float16' : 'float32');
      const rng = seededRng(`onnx decode prompt ${variant}`);
      const prompt = Array.from({ length: 9 }, () => rng.int(3, d.vocab));
      const streamed: number[] = [];
      // No stop id: 24 tokens, past the tiny Mistral's sliding window.
      const { tokens } = await greedyDecode(ort.Tensor, session, d, prompt, {
        maxNewTokens: 24,
        eosTokenIds: [],
        onToken: (t) => streamed.push(t),
      });
      expect(tokens).toHaveLength(24);
      expect(streamed).toEqual(tokens);
      for (let i = 0; i < tokens.length; i++) {
        const seq = [...prompt, ...tokens.slice(0, i)];
        const out = await session.run(
          stepFeeds(ort.Tensor, seq, 0, 1, emptyCache(ort.Tensor, d, 1, cacheDtype(session))),
        );
        expect(argmaxLast(out.logits!.data as Float32Array, d.vocab), `token ${i}`).toBe(tokens[i]);
      }
      // A stop id ends the answer after it (it is returned, as the engine's generate does).
      const stopId = tokens[2]!;
      const stopped = await greedyDecode(ort.Tensor, session, d, prompt, { maxNewTokens: 24, eosTokenIds: [stopId] });
      expect(stopped.tokens).toEqual(tokens.slice(0, tokens.indexOf(stopId) + 1));
      // An aborted signal stops before the next run.
      const ctl = new AbortController();
      const cut = await greedyDecode(ort.Tensor, session, d, prompt, {
        maxNewTokens: 24,
        eosTokenIds: [],
        signal: ctl.signal,
        onToken: () => streamed.length > 0 && ctl.abort(),
      });
      expect(cut.tokens).toEqual(tokens.slice(0, 1));
      await session.release();
    });
  }
});
