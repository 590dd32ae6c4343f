/**
 * llama.cpp as a judge, through node-llama-cpp's prebuilt CPU binary (the `@node-llama-cpp/linux-x64` package npm
 * installs): never built from source, never downloaded, no GPU. One Llama per test file; a model is loaded, used for
 * one sequence and disposed. Contexts keep K and V in F32 (llama.cpp's default is F16), so only the weights' types
 * and llama.cpp's own arithmetic separate it from the engine.
 *
 * Log-probabilities come from greedy sampling with `probabilities: true`: node-llama-cpp returns the softmax of the
 * raw logits over the whole vocabulary (f32 `expf`, normalized), so log(p) is llama.cpp's log-softmax to f32 rounding.
 */
import {
  type ControlledEvaluateInputItem,
  getLlama,
  type Llama,
  type LlamaContextSequence,
  LlamaLogLevel,
  type Token,
} from 'node-llama-cpp';

let shared: Promise<Llama> | undefined;

export function llamaCpp(): Promise<Llama> {
  shared ??= getLlama({
    gpu: false,
    build: 'never',
    usePrebuiltBinaries: true,
    skipDownload: true,
    progressLogs: false,
    logLevel: process.env.LLAMA_LOG ? LlamaLogLevel.debug : LlamaLogLevel.error,
    maxThreads: 2,
  });
  return shared;
}

export interface LlamaRun {
  /** A LoRA adapter GGUF for llama.cpp to apply (scale 1). */
  lora?: string;
}

async function withContext<R>(
  path: string,
  size: number,
  opts: LlamaRun,
  fn: (seq: LlamaContextSequence) => Promise<R>,
): Promise<R> {
  const llama = await llamaCpp();
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0, useMmap: false });
  try {
    const context = await model.createContext({
      contextSize: size,
      batchSize: size,
      sequences: 1,
      threads: 2,
      flashAttention: false,
      experimentalKvCacheKeyType: 'F32',
      experimentalKvCacheValueType: 'F32',
      ...(opts.lora ? { lora: { adapters: [{ filePath: opts.lora, scale: 1 }] } } : {}),
    });
    try {
      if (context.kvCacheKeyType !== 0 || context.kvCacheValueType !== 0)
        throw new Error(
          `llama.cpp did not take an F32 KV cache (got types ${context.kvCacheKeyType}, ${context.kvCacheValueType})`,
        );
      return await fn(context.getSequence());
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}

/** A context size llama.cpp accepts for `tokens` tokens (it rounds to multiples of 256 anyway). */
function contextFor(tokens: number): number {
  return Math.max(256, Math.ceil(tokens / 256) * 256);
}

/**
 * llama.cpp's next-token log-probabilities after each prefix of `ids`: [T·V], float64 holding f32 values.
 * Every position's whole distribution is read in one batch (the sequence is evaluated once).
 */
export async function llamaLogProbs(
  path: string,
  ids: readonly number[],
  vocab: number,
  opts: LlamaRun = {},
): Promise<Float64Array> {
  return withContext(path, contextFor(ids.length), opts, async (seq) => {
    const items: ControlledEvaluateInputItem[] = ids.map((t) => [
      t as Token,
      { generateNext: { probabilities: true } },
    ]);
    const out = await seq.controlledEvaluate(items);
    const lp = new Float64Array(ids.length * vocab).fill(Number.NaN);
    for (let i = 0; i < ids.length; i++) {
      const probs = out[i]?.next.probabilities;
      if (!probs || probs.size !== vocab)
        throw new Error(`llama.cpp gave ${probs?.size ?? 0} probabilities at position ${i}, expected ${vocab}`);
      for (const [token, p] of probs) lp[i * vocab + token] = Math.log(p);
    }
    return lp;
  });
}

/** llama.cpp's greedy continuation of `prompt`: `n` tokens, no stop token (temperature 0 = argmax of the logits). */
export async function llamaGreedy(
  path: string,
  prompt: readonly number[],
  n: number,
  opts: LlamaRun = {},
): Promise<number[]> {
  return withContext(path, contextFor(prompt.length + n), opts, async (seq) => {
    const tokens: number[] = [];
    const item = (t: number): ControlledEvaluateInputItem => [t as Token, { generateNext: { token: true } }];
    let input = prompt.map(item);
    while (tokens.length < n) {
      const out = await seq.controlledEvaluate(input);
      const next = out[input.length - 1]?.next.token;
      if (next === undefined || next === null) throw new Error(`llama.cpp generated no token after ${tokens.length}`);
      tokens.push(next);
      input = [item(next)];
    }
    return tokens;
  });
}

/** llama.cpp's tokenization of `text` (special tokens in the text parsed as such; no BOS added). */
export async function llamaTokenize(path: string, text: string): Promise<number[]> {
  const llama = await llamaCpp();
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0, useMmap: false, vocabOnly: true });
  try {
    return model.tokenize(text, true).map(Number);
  } finally {
    await model.dispose();
  }
}
