/**
 * `npm run cli -- export --adapter PEFT_DIR --model DIR --format ID [--dtype f32|f16|bf16] [--shard-size BYTES]
 *  [--variants f32,f16,q4] [--adapter-mode merged|separate] --out DIR` converts a PEFT adapter folder into any format
 * of src/train/export-formats.ts (peft, mlx, gguf, merged, onnx): an adapter format (the model is read for its config
 * only: layer count, architecture, heads), or a model format, streamed from the model's safetensors weights (merged
 * weights shard by shard, or an ONNX model folder that transformers.js and onnxruntime-web run). Prints a JSON summary
 * of the files written.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NodeFileByteSource } from '../../formats/byte-source-node.ts';
import { readGguf } from '../../formats/gguf.ts';
import { readGgufHfConfig } from '../../formats/gguf-config.ts';
import { readPeftAdapter } from '../../formats/peft.ts';
import { type ModelDescription, parseModelConfig } from '../../model/config.ts';
import { detectLayout, type ModelSource } from '../../model/source.ts';
import { NodeFolderModelSource } from '../../model/source-node.ts';
import type { AdapterTensors } from '../../train/adapter.ts';
import { adapterTensorsFromPeft } from '../../train/scale-out/import-back.ts';
import {
  type AdapterDtype,
  type AdapterExportFormat,
  adapterExportFiles,
  EXPORT_FORMAT_IDS,
  exportFormat,
  type ModelExportOptions,
  writeModelExport,
} from '../../train/export-formats.ts';
import { ONNX_VARIANTS, type OnnxVariant } from '../../train/onnx/export-onnx.ts';
import { choiceFlag, numberFlag, parseArgs, stringFlag } from '../args.ts';
import { checkOutputFolder, safeFolderSink } from '../output-folder.ts';
import { forTerminal, terminalJson } from '../terminal.ts';
import type { CliCommand } from './types.ts';

/** A PEFT adapter folder as the exporters' AdapterTensors. */
export async function readPeftDir(dir: string): Promise<AdapterTensors> {
  const configText = await readFile(join(dir, 'adapter_config.json'), 'utf8');
  const weights = await NodeFileByteSource.open(join(dir, 'adapter_model.safetensors'));
  try {
    return adapterTensorsFromPeft(await readPeftAdapter(configText, weights));
  } finally {
    await weights.close();
  }
}

/** The model's description from its config.json, or from the metadata of a GGUF-only folder. */
export async function describeSource(source: ModelSource): Promise<ModelDescription> {
  const layout = await detectLayout(source);
  if (layout.kind !== 'gguf') return parseModelConfig(layout.config);
  const bytes = await source.open(layout.file);
  try {
    return parseModelConfig(
      await readGgufHfConfig(bytes, await readGguf(bytes, layout.file)),
      `${layout.file} (GGUF metadata)`,
    );
  } finally {
    await bytes.close?.();
  }
}

/** Files written into `dir` (created) through a temporary name each, never through a link (src/cli/output-folder.ts). */
export const nodeFolderSink = safeFolderSink;

/** `--variants f32,q4` → the ONNX variants, checked. */
function variantsFlag(text: string | undefined): OnnxVariant[] {
  if (text === undefined) return ['f32'];
  const list = text.split(',').map((v) => v.trim()) as OnnxVariant[];
  const bad = list.filter((v) => !ONNX_VARIANTS.includes(v));
  if (bad.length > 0 || list.length === 0)
    throw new Error(`--variants: ${bad.join(', ') || '(none)'} is not one of ${ONNX_VARIANTS.join(', ')}`);
  return list;
}

export const command: CliCommand = {
  summary:
    'convert a PEFT adapter to peft (f16/bf16), mlx, gguf (llama.cpp LoRA), merge it into the model, or export the model with it as ONNX',
  async run(argv) {
    const args = parseArgs(argv);
    const adapterDir = stringFlag(args, 'adapter');
    const modelDir = stringFlag(args, 'model');
    const out = stringFlag(args, 'out');
    if (!adapterDir || !modelDir || !out || !args.flags.has('format')) {
      throw new Error(
        `export needs --adapter PEFT_DIR --model DIR --format ${EXPORT_FORMAT_IDS.join('|')} --out DIR [--dtype f32|f16|bf16] [--shard-size BYTES] [--variants f32,f16,q4] [--adapter-mode merged|separate]`,
      );
    }
    const format = choiceFlag(args, 'format', EXPORT_FORMAT_IDS, 'peft');
    const spec = exportFormat(format);
    const dtype = choiceFlag<AdapterDtype>(args, 'dtype', ['f32', 'f16', 'bf16'], 'f32');
    const adapter = await readPeftDir(adapterDir);
    const source = await NodeFolderModelSource.open(modelDir);
    const outDir = await checkOutputFolder(out, [
      { role: 'the model', path: modelDir },
      { role: 'the adapter', path: adapterDir },
    ]);
    const sink = safeFolderSink(outDir);
    const desc = await describeSource(source);
    const started = performance.now();
    let files: { name: string; bytes: number }[];
    if (spec.needsModel === 'weights') {
      if (format === 'merged' && args.flags.has('dtype'))
        process.stderr.write('note: --dtype is ignored for merged weights: each weight keeps its stored dtype\n');
      const shardBytes = numberFlag(args, 'shard-size');
      const opts: ModelExportOptions = {
        ...(shardBytes !== undefined ? { shardBytes } : {}),
        ...(format === 'onnx'
          ? {
              onnx: {
                variants: variantsFlag(stringFlag(args, 'variants')),
                adapterMode: choiceFlag(args, 'adapter-mode', ['merged', 'separate'] as const, 'merged'),
              },
            }
          : {}),
      };
      let last = '';
      const result = await writeModelExport(format, source, adapter, sink, {
        ...opts,
        onProgress: (p) => {
          if (p.file !== last) process.stderr.write(`writing ${forTerminal(p.file)} (${p.bytesTotal} bytes)\n`);
          last = p.file;
        },
      });
      files = result.files;
    } else {
      const written = await adapterExportFiles(format as AdapterExportFormat, adapter, { facts: null, desc, dtype });
      for (const f of written) {
        const file = await sink.open(f.name);
        await file.write(f.bytes);
        await file.close();
      }
      files = written.map((f) => ({ name: f.name, bytes: f.bytes.byteLength }));
    }
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(
      `${terminalJson({ format, dtype: spec.dtypes.length === 0 ? null : dtype, out, files, seconds: Number(seconds.toFixed(3)) })}\n`,
    );
    return 0;
  },
};
