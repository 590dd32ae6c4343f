/**
 * The tiny models the llama.cpp judge runs: every architecture (and llama variant) the engine supports, as GGUF files
 * of the requested types, each with its dequantized F32 twin (llama.cpp's own reference for its quantized math).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GgmlType } from '../../../src/formats/gguf-types.ts';
import { makeTinyModel, type TinyModel } from '../../fixtures/make-models.ts';
import { makeTinyGemma } from '../../fixtures/onnx-run.ts';
import { tinyGguf } from '../../fixtures/tiny-model-gguf.ts';
import { templateFor, type TinyDims } from '../../fixtures/tiny-model-specs.ts';
import { buildFixtureTokenizer } from '../../fixtures/tokenizer.ts';

export const CASES = [
  ['llama', 'default'],
  ['llama', 'rope-llama3'],
  ['llama', 'tied'],
  ['mistral', 'default'],
  ['qwen2', 'default'],
  ['qwen3', 'default'],
  ['gemma', 'default'],
  ['gemma2', 'default'],
  ['phi3', 'default'],
] as const;
export type JudgeArch = (typeof CASES)[number][0];
export type JudgeVariant = (typeof CASES)[number][1];

export function caseName(arch: JudgeArch, variant: JudgeVariant): string {
  return `${arch}${variant === 'default' ? '' : ` ${variant}`}`;
}

/** Dimensions whose every row holds whole 256-value K-quant blocks (hidden = intermediate = 256, head_dim 64), one layer to keep them fast. */
export const K_QUANT_DIMS: Partial<TinyDims> = { hidden: 256, intermediate: 256, headDim: 64, layers: 1 };

export interface JudgeModel {
  model: TinyModel;
  /** GGUF file per type. */
  files: Partial<Record<GgmlType, string>>;
  /** F32 GGUF holding each type's dequantized values. */
  dequantized: Partial<Record<GgmlType, string>>;
}

export async function judgeModel(
  dir: string,
  arch: JudgeArch,
  variant: JudgeVariant,
  types: readonly GgmlType[],
  opts: { dims?: Partial<TinyDims>; dequantized?: boolean } = {},
): Promise<JudgeModel> {
  const model =
    arch === 'gemma'
      ? await makeTinyGemma(dir, opts.dims)
      : await makeTinyModel(arch, dir, { variant, ...(opts.dims ? { dims: opts.dims } : {}) });
  const tokenizer = buildFixtureTokenizer(arch === 'gemma' ? 'gemma' : templateFor(arch), 120);
  const files: JudgeModel['files'] = {};
  const dequantized: JudgeModel['dequantized'] = {};
  for (const type of types) {
    const input = { ...model, arch, tokenizer, type };
    files[type] = join(dir, `tiny-${arch}-${type.toLowerCase()}.gguf`);
    await writeFile(files[type], tinyGguf(input));
    if (opts.dequantized && type !== 'F32') {
      dequantized[type] = join(dir, `tiny-${arch}-${type.toLowerCase()}-dequantized.gguf`);
      await writeFile(dequantized[type], tinyGguf({ ...input, dequantized: true }));
    }
  }
  return { model, files, dequantized };
}
