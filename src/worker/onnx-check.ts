/**
 * "Run it with onnxruntime-web" (the Try page): the run's ONNX export, as kept in this browser by the Export page
 * (./onnx-copies.ts), loaded with onnxruntime-web and asked the same prompt as the engine, greedily, streaming its
 * answer. The prompt's token ids come from the app's own tokenizer and chat template code (./prompt.ts) reading the
 * exported tokenizer files, and the stop ids from the exported config, so a difference from the engine's answer is
 * a difference in the deployed model. Runs in the ONNX worker (./onnx.worker.ts), never on the page.
 */
import { type ModelTokenizer, loadTokenizer } from '../data/tokenizer.ts';
import { type ModelDescription, parseModelConfig } from '../model/config.ts';
import { stopTokenIds } from '../model/generation-config.ts';
import { ONNX_FILE } from '../train/onnx/export-onnx.ts';
import type { Result } from './contract.ts';
import type { OnnxApi, OnnxBackend, OnnxCheckEvent, OnnxCheckRequest, OnnxCopyInfo } from './contract-onnx.ts';
import { HintedError, hintedAttempt } from './hinted.ts';
import { copyFile, copyFiles, deleteCopy, findCopy, listCopies } from './onnx-copies.ts';
import { greedyDecode } from './onnx-decode.ts';
import { type ExternalData, type OpenedSession, openSession, ort } from './onnx-runtime.ts';
import { promptIds } from './prompt.ts';

interface Loaded extends OpenedSession {
  key: string;
  desc: ModelDescription;
  tokenizer: ModelTokenizer;
  eos: number[];
}

let loaded: Loaded | null = null;
let active: AbortController | null = null;

async function release(): Promise<void> {
  const l = loaded;
  loaded = null;
  await l?.session.release().catch(() => undefined);
}

async function readText(runId: string, name: string): Promise<string | null> {
  return (await copyFile(runId, name))?.text() ?? null;
}

async function ensureLoaded(copy: OnnxCopyInfo, variant: OnnxCheckRequest['variant']): Promise<Loaded> {
  const key = `${copy.runId}@${copy.savedAt}#${variant}`;
  if (loaded?.key === key) return loaded;
  await release();
  const file = ONNX_FILE[variant];
  const model = await copyFile(copy.runId, `onnx/${file}`);
  if (!model)
    throw new HintedError(
      `The ONNX export of "${copy.runName}" kept in this browser has no onnx/${file} (${variant}).`,
      `Pick one of the exported variants (${copy.variants.join(', ')}), or export the run again with ${variant}.`,
    );
  const configText = await readText(copy.runId, 'config.json');
  if (!configText)
    throw new HintedError(`The ONNX export of "${copy.runName}" has no config.json.`, 'Export the run as ONNX again.');
  const desc = parseModelConfig(JSON.parse(configText));
  let tokenizer: ModelTokenizer;
  try {
    tokenizer = await loadTokenizer((name) => readText(copy.runId, name));
  } catch (err) {
    throw new HintedError(
      `The ONNX export of "${copy.runName}" has no usable tokenizer: ${(err as Error).message}.`,
      'Export the run again from a model folder that has its tokenizer files.',
    );
  }
  const eos = stopTokenIds(desc, await readText(copy.runId, 'generation_config.json'), tokenizer.eosTokenId);
  const externalData: ExternalData = [];
  for (const name of await copyFiles(copy.runId, 'onnx'))
    if (name === `${file}_data` || name.startsWith(`${file}_data_`)) {
      const f = (await copyFile(copy.runId, `onnx/${name}`))!;
      externalData.push({ path: name, data: new Uint8Array(await f.arrayBuffer()) });
    }
  let opened: OpenedSession;
  try {
    opened = await openSession(`onnx/${file}`, new Uint8Array(await model.arrayBuffer()), externalData);
  } catch (err) {
    throw new HintedError(
      `onnxruntime-web could not load onnx/${file}: ${(err as Error).message}`,
      'Export the run as ONNX again; if it repeats, try another variant.',
    );
  }
  loaded = { ...opened, key, desc, tokenizer, eos };
  return loaded;
}

async function check(req: OnnxCheckRequest, onEvent: (e: OnnxCheckEvent) => void): Promise<Result<OnnxBackend>> {
  active?.abort();
  const ctl = new AbortController();
  active = ctl;
  try {
    return await hintedAttempt(async () => {
      const copy = await findCopy(req.runId);
      if (!copy)
        throw new HintedError(
          'This run has no ONNX export in this browser.',
          'Export it as ONNX on the Export page (with "Keep a copy in this browser" on), then come back.',
        );
      const m = await ensureLoaded(copy, req.variant);
      const ids = promptIds(m.tokenizer, req.prompt, req.system);
      const room = m.desc.maxPositions - ids.length;
      if (room < 1)
        throw new HintedError(
          `The prompt is ${ids.length} tokens long; the model reads at most ${m.desc.maxPositions}.`,
          'Shorten the prompt or the system prompt.',
        );
      const shown: number[] = [];
      let firstAt = 0;
      const emit = (done: boolean, lastAt: number) => {
        let text = m.tokenizer.decode(shown, true);
        // A character split across tokens shows as U+FFFD until its last byte arrives.
        if (!done) text = text.replace(/\uFFFD+$/, '');
        const seconds = (lastAt - firstAt) / 1000;
        const event: OnnxCheckEvent = {
          text,
          done,
          tokens: shown.length,
          tokensPerSec: shown.length > 1 && seconds > 0 ? (shown.length - 1) / seconds : 0,
          backend: m.backend,
        };
        void Promise.resolve(onEvent(event) as unknown).catch(() => undefined);
      };
      let lastAt = 0;
      await greedyDecode(ort.Tensor, m.session, m.desc, ids, {
        maxNewTokens: Math.max(1, Math.min(Math.floor(req.maxNewTokens), room)),
        eosTokenIds: m.eos,
        signal: ctl.signal,
        onToken: (t) => {
          if (m.eos.includes(t)) return;
          lastAt = performance.now();
          if (shown.length === 0) firstAt = lastAt;
          shown.push(t);
          emit(false, lastAt);
        },
      });
      emit(true, lastAt);
      return m.backend;
    }, 'Export the run as ONNX again; if it repeats, reload the page.');
  } finally {
    if (active === ctl) active = null;
  }
}

export const onnxApi: OnnxApi = {
  listCopies: () => hintedAttempt(listCopies, 'Reload the page.'),
  deleteCopy: (runId) =>
    hintedAttempt(async () => {
      if (loaded?.key.startsWith(`${runId}@`)) await release();
      await deleteCopy(runId);
      return null;
    }, 'Reload the page and try again.'),
  check,
  cancelCheck: () => active?.abort(),
  release,
};
