/**
 * The fuzzer's target interface (`npm run fuzz`, ./main.ts). A target is one input format: it builds valid seed
 * inputs once per run, then makes mutated cases from them; the driver runs each case's CLI command in a child
 * process (with a timeout and a memory cap) and classifies the outcome (./classify.ts).
 *
 * Adding a target: write `targets/<family>.ts` exporting one or more `FuzzTarget`s, and list them in
 * `targets/index.ts`. A target only touches files under the folders it is given, and uses only `rng` for its choices,
 * so a run is reproduced exactly by its seed. Mutators shared by all targets are in ./mutate.ts.
 *
 *   export const myFormat: FuzzTarget = {
 *     name: 'my-format',                                  // --target=my-format, --time-my-format=60s
 *     description: 'what is mutated, and which command reads it',
 *     async prepare(corpus) { ...write valid seeds under corpus.dir...; return state },
 *     async seedCase(state, dir) { ...the valid input, unmutated: must be accepted... },
 *     async makeCase(state, rng, dir) {                   // dir: an empty folder for this case
 *       ...write the mutated input under dir...
 *       return { argv: ['data', join(dir, 'x.jsonl'), '--json'], files: ['x.jsonl'], note: 'flipped 3 bytes' };
 *     },
 *   };
 */
import type { Rng } from '../harness/rng.ts';

/** The shared seed inputs built once per run (./corpus.ts), for targets to copy from. */
export interface Corpus {
  /** A scratch folder for this run; targets keep their seeds under it. */
  dir: string;
  /** A tiny llama model folder: config.json, model.safetensors, tokenizer.json, tokenizer_config.json (chat template). */
  model: string;
  /** A tiny qwen3 model folder with two shards and model.safetensors.index.json. */
  sharded: string;
  /** GGUF files of the tiny llama model (F32 and Q8_0). */
  gguf: string[];
  /** A PEFT adapter folder (adapter_config.json, adapter_model.safetensors) for `model`. */
  adapter: string;
  /** A small chat dataset (messages JSONL) that the model's chat template renders. */
  chatData: string;
}

export interface FuzzCase {
  /** The CLI command line (after `node dist/cli/main.js`). */
  argv: string[];
  /** Names of the mutated files (relative to the case folder): a clean error names one of them. */
  files: string[];
  /** What the mutation did, for the report. */
  note: string;
  /**
   * Optional check of an accepted run (exit 0): returns a description when the output is garbage, e.g. non-finite
   * logits. `dir` is the case folder, `stdout` the command's standard output.
   */
  checkOutput?: (dir: string, stdout: string) => Promise<string | null>;
}

export interface FuzzTarget<State = unknown> {
  name: string;
  description: string;
  /** Builds this target's seeds (once per run). */
  prepare(corpus: Corpus): Promise<State>;
  /**
   * Writes the unmutated input under `dir` and returns its case: it must be accepted, and its peak memory is the
   * command's baseline (the memory cap of a case is baseline + 2 × the case's input bytes + 256 MB).
   */
  seedCase(state: State, dir: string): Promise<FuzzCase>;
  /** Writes one mutated case under `dir` (an empty folder) and returns how to run it. */
  makeCase(state: State, rng: Rng, dir: string): Promise<FuzzCase>;
}
