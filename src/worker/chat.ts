/**
 * "Try it" in the engine worker: one prompt answered by the base model and by the base model with a run's adapter,
 * token by token in turn, so both answers stream side by side.
 *
 * The model stays loaded between calls (weights, tokenizer, stop ids) and is reloaded only when the model or the
 * base precision changes. The precision: with a run, the run's own base quantization (`config.base` of its latest
 * checkpoint: the adapter was trained against exactly those weights, and the base side then shows the same base the
 * adapter sits on); without a run, the model already loaded when it is the same model (no reload for switching to
 * "base only"), else q8_0 — close to the original weights at half the memory of f16. The adapter of the run's latest
 * checkpoint is kept too, until the run, its newest checkpoint or the model changes.
 *
 * Both sides use one set of weights: two inference engines, one with the LoRA and one without. Their decode steps
 * take turns through a queue (base, adapter, base, …), so GPU work never overlaps and the two streams advance
 * together; each engine gets its own name for its KV cache so one side finishing never frees the other's.
 */
import { type ModelTokenizer, loadTokenizer } from '../data/tokenizer.ts';
import type { PeftAdapter } from '../formats/peft.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { generate } from '../model/generate.ts';
import { stopTokenIds } from '../model/generation-config.ts';
import { loadModel } from '../model/loader.ts';
import { loraFromPeft } from '../model/lora-peft.ts';
import { type ModelLora, loraScaling } from '../model/lora-state.ts';
import { ModelEngine } from '../model/model.ts';
import type { QuantChoice } from '../model/plan.ts';
import type { ModelWeights } from '../model/weights-types.ts';
import { latestCheckpoint } from '../storage/checkpoints.ts';
import type { AdapterTensors } from '../train/adapter.ts';
import { adapterFromCheckpoint } from '../train/adapter.ts';
import { readRunState } from '../train/checkpoint.ts';
import type { ChatEvent, ChatRequest, EngineApi, ModelRef, Result } from './contract.ts';
import { HintedError, hintedAttempt } from './hinted.ts';
import { promptIds } from './prompt.ts';
import { cachedModelSource, claimGpu, getRuntime, workerDb } from './runtime.ts';

export { promptIds };

interface LoadedModel {
  key: string;
  ref: ModelRef;
  quant: QuantChoice;
  rt: GpuRuntime;
  weights: ModelWeights;
  tokenizer: ModelTokenizer;
  eos: number[];
}

interface LoadedAdapter {
  key: string;
  lora: ModelLora;
}

let model: LoadedModel | null = null;
let adapter: LoadedAdapter | null = null;
let active: AbortController | null = null;
let releaseWhenDone = false;

const sameRef = (a: ModelRef, b: ModelRef) => a.repo === b.repo && a.revision === b.revision;

function dropAdapter(): void {
  if (adapter && model) model.rt.memory.destroyOwner(adapter.lora.owner);
  adapter = null;
}

function dropModel(): void {
  dropAdapter();
  if (model) model.rt.memory.destroyOwner(model.weights.owner);
  model = null;
}

/** The model on the GPU with `quant`, loading it (and releasing the previous one) when needed. */
async function ensureModel(rt: GpuRuntime, ref: ModelRef, quant: QuantChoice): Promise<LoadedModel> {
  // A lost device takes its buffers with it: forget what lived on it.
  if (model && model.rt !== rt) {
    model = null;
    adapter = null;
  }
  const key = `${ref.repo}@${ref.revision}#${quant}`;
  if (model?.key === key) return model;
  dropModel();
  let source;
  try {
    source = await cachedModelSource(ref);
  } catch (err) {
    throw new HintedError((err as Error).message, 'Download it again (or drop its folder) on the Model page.');
  }
  let tokenizer: ModelTokenizer;
  try {
    tokenizer = await loadTokenizer((name) => source.readText(name));
  } catch (err) {
    throw new HintedError(
      `${ref.repo} has no usable tokenizer: ${(err as Error).message}.`,
      "Add the model's tokenizer.json and tokenizer_config.json (import the folder again on the Model page).",
    );
  }
  const owner = `chat/${key}`;
  const { weights } = await loadModel(rt, source, { quant, owner });
  try {
    const eos = stopTokenIds(weights.desc, await source.readText('generation_config.json'), tokenizer.eosTokenId);
    model = { key, ref, quant, rt, weights, tokenizer, eos };
    return model;
  } catch (err) {
    rt.memory.destroyOwner(owner);
    throw err;
  }
}

/** The adapter tensors as the PEFT reader returns them, so loraFromPeft checks them against the model's shapes. */
export function asPeftAdapter(e: AdapterTensors): PeftAdapter {
  return {
    config: {
      peft_type: 'LORA',
      r: e.rank,
      lora_alpha: e.alpha,
      lora_dropout: e.dropout,
      target_modules: e.targetModules,
      layers_to_transform: e.layersToTransform,
      bias: 'none',
      fan_in_fan_out: false,
      use_rslora: e.rslora,
      use_dora: false,
      inference_mode: true,
      init_lora_weights: true,
    },
    rank: e.rank,
    scaling: loraScaling({ rank: e.rank, alpha: e.alpha, rslora: e.rslora }),
    modules: new Map(e.modules.map((m) => [m.path, m])),
  };
}

interface RunAdapterSource {
  runId: string;
  runName: string;
  runModel: ModelRef;
  step: number;
  bytes: Uint8Array;
  quant: QuantChoice;
}

/** The run, its latest checkpoint and the base precision it was trained with. */
async function runAdapterSource(runId: string): Promise<RunAdapterSource> {
  const db = await workerDb();
  const run = await db.get('runs', runId);
  if (!run)
    throw new HintedError('That run is no longer stored in this browser.', 'Pick another run, or "Base model only".');
  const ckpt = await latestCheckpoint(db, runId);
  if (!ckpt)
    throw new HintedError(
      `The run "${run.name}" has no saved checkpoint yet, so it has no adapter to try.`,
      'Let it train until its first checkpoint (stopping a run saves one), or pick "Base model only".',
    );
  let quant: QuantChoice = run.config.base;
  try {
    quant = (await readRunState(ckpt.bytes)).config.base;
  } catch {
    // an unreadable state: the run's stored config says the same
  }
  return { runId, runName: run.name, runModel: run.model, step: ckpt.step, bytes: ckpt.bytes, quant };
}

async function ensureAdapter(rt: GpuRuntime, m: LoadedModel, src: RunAdapterSource): Promise<ModelLora> {
  const key = `${src.runId}@${src.step}|${m.key}`;
  if (adapter?.key === key) return adapter.lora;
  dropAdapter();
  let tensors: AdapterTensors;
  try {
    tensors = await adapterFromCheckpoint(src.bytes);
  } catch (err) {
    throw new HintedError((err as Error).message, 'Try a run trained with this version of the app.');
  }
  const owner = `chat/adapter/${src.runId}`;
  try {
    const lora = loraFromPeft(rt, m.weights.desc, asPeftAdapter(tensors), owner);
    adapter = { key, lora };
    return lora;
  } catch (err) {
    rt.memory.destroyOwner(owner);
    const trainedOn = sameRef(src.runModel, m.ref) ? '' : ` It was trained on ${src.runModel.repo}.`;
    throw new HintedError(
      `The adapter of "${src.runName}" does not fit ${m.ref.repo}: ${(err as Error).message}${trainedOn}`,
      sameRef(src.runModel, m.ref)
        ? 'Pick "Base model only", or another run.'
        : `Pick ${src.runModel.repo} as the model, or "Base model only".`,
    );
  }
}

/** Runs async steps one at a time, in the order they were asked for. */
class TurnQueue {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(step: () => Promise<T>): Promise<T> {
    const next = this.tail.then(step);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/**
 * An inference engine on `weights` whose decode steps wait for their turn in `turns`. Its KV cache is named after
 * `side`, so two engines on the same weights keep separate caches.
 */
function turnTakingEngine(
  rt: GpuRuntime,
  weights: ModelWeights,
  side: ChatEvent['side'],
  maxT: number,
  lora: ModelLora | null,
  turns: TurnQueue,
): { engine: ModelEngine; destroy: () => void } {
  const inner = new ModelEngine(rt, { ...weights, owner: `${weights.owner}/${side}` }, 1, maxT, lora, 'inference');
  const engine = Object.create(inner) as ModelEngine;
  engine.lastLogits = (tokens, p0, attendFor) => turns.run(() => inner.lastLogits(tokens, p0, attendFor));
  return { engine, destroy: () => inner.destroy() };
}

/** Streams one side's answer: the full text so far on every token, `done` once at the end. */
function sideStream(
  side: ChatEvent['side'],
  tokenizer: ModelTokenizer,
  eos: number[],
  onEvent: (e: ChatEvent) => void,
) {
  const ids: number[] = [];
  let firstAt = 0;
  let lastAt = 0;
  const emit = (done: boolean) => {
    let text = tokenizer.decode(ids, true);
    // A character split across tokens shows as U+FFFD until its last byte arrives.
    if (!done) text = text.replace(/\uFFFD+$/, '');
    // The decode rate: tokens after the first over the time since it (the first waits for the whole prompt).
    const seconds = (lastAt - firstAt) / 1000;
    const event: ChatEvent = {
      side,
      text,
      done,
      tokens: ids.length,
      tokensPerSec: ids.length > 1 && seconds > 0 ? (ids.length - 1) / seconds : 0,
    };
    // The page may be gone (comlink then rejects): nothing to do about it here.
    void Promise.resolve(onEvent(event) as unknown).catch(() => undefined);
  };
  return {
    token(t: number) {
      if (eos.includes(t)) return;
      lastAt = performance.now();
      if (ids.length === 0) firstAt = lastAt;
      ids.push(t);
      emit(false);
    },
    done: () => emit(true),
  };
}

export async function chat(req: ChatRequest, onEvent: (e: ChatEvent) => void): Promise<Result<null>> {
  if (!req.prompt.trim())
    return { ok: false, error: { kind: 'unknown', message: 'The prompt is empty.', hint: 'Write a prompt first.' } };
  let release: (() => void) | null = null;
  const ctl = new AbortController();
  try {
    return await hintedAttempt(async () => {
      try {
        release = claimGpu('chat');
      } catch (err) {
        throw new HintedError((err as Error).message, 'Wait for it to finish, or stop it on its page.');
      }
      active = ctl;
      const rt = await getRuntime();
      const runSrc = req.runId ? await runAdapterSource(req.runId) : null;
      const quant: QuantChoice =
        runSrc?.quant ?? (model && model.rt === rt && sameRef(model.ref, req.model) ? model.quant : 'q8_0');
      const m = await ensureModel(rt, req.model, quant);
      const lora = runSrc ? await ensureAdapter(rt, m, runSrc) : null;
      if (ctl.signal.aborted) return null;

      const ids = promptIds(m.tokenizer, req.prompt, req.system);
      const room = m.weights.desc.maxPositions - ids.length;
      if (room < 1)
        throw new HintedError(
          `The prompt is ${ids.length} tokens long; ${m.ref.repo} reads at most ${m.weights.desc.maxPositions}.`,
          'Shorten the prompt or the system prompt.',
        );
      const maxNewTokens = Math.max(1, Math.min(Math.floor(req.maxNewTokens), room));
      const maxT = ids.length + maxNewTokens;
      const seed = Math.floor(Math.random() * 2 ** 31);
      const turns = new TurnQueue();
      const sides: { side: ChatEvent['side']; lora: ModelLora | null }[] = [{ side: 'base', lora: null }];
      if (lora) sides.push({ side: 'adapter', lora });
      const engines: { engine: ModelEngine; destroy: () => void }[] = [];
      try {
        // Every engine exists before either side starts, so a failed allocation leaves nothing running.
        for (const { side, lora: l } of sides) engines.push(turnTakingEngine(rt, m.weights, side, maxT, l, turns));
        const runs = sides.map(({ side }, i) => {
          const e = engines[i]!;
          const stream = sideStream(side, m.tokenizer, m.eos, onEvent);
          return generate(rt, e.engine, ids, {
            maxNewTokens,
            temperature: req.temperature,
            seed,
            eosTokenIds: m.eos,
            signal: ctl.signal,
            onToken: (t) => stream.token(t),
          }).then(
            (r) => {
              stream.done();
              return r;
            },
            (err: unknown) => {
              // One side failing stops the other.
              ctl.abort();
              throw err;
            },
          );
        });
        const settled = await Promise.allSettled(runs);
        const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
        if (failed) throw failed.reason;
        return null;
      } finally {
        for (const e of engines) e.destroy();
      }
    }, 'Try a shorter answer (fewer max tokens); if it repeats, reload the page.');
  } finally {
    if (active === ctl) active = null;
    (release as (() => void) | null)?.();
    if (releaseWhenDone) {
      releaseWhenDone = false;
      dropModel();
    }
  }
}

/** Drops the kept model when it is `ref` (its cached files were replaced or removed); a running chat keeps it. */
export function forgetChatModel(ref: ModelRef): void {
  if (!active && model && sameRef(model.ref, ref)) dropModel();
}

export function cancelChat(): void {
  active?.abort();
}

/** Frees the model and adapter kept for chat (now, or when the running chat ends). */
export function releaseModels(): void {
  if (active) {
    releaseWhenDone = true;
    active.abort();
    return;
  }
  dropModel();
}

export const chatApi: Pick<EngineApi, 'chat' | 'cancelChat' | 'releaseModels'> = { chat, cancelChat, releaseModels };
