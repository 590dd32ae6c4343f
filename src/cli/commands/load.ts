/**
 * `npm run cli -- load --model DIR_OR_GGUF [--quant none|q8_0|q4_0|nf4] [--embeddings FORMAT] [--json] [--no-cpu-fallback]`:
 * loads a model onto the GPU in Node (quantizing on load) and prints what it took: tensors, GPU bytes per format,
 * GPU memory, the loader's host peak, process memory and the load time.
 */
import { acquireDevice } from '../../gpu/device.ts';
import { formatBytes } from '../../gpu/info.ts';
import { nodeGpu } from '../../gpu/node.ts';
import { GpuRuntime } from '../../gpu/runtime.ts';
import { type ConvertFormat, WEIGHT_FORMATS } from '../../kernels/weights.ts';
import { loadNotes } from '../../model/load-notes.ts';
import { parameterCount } from '../../model/config.ts';
import { loadModel } from '../../model/loader.ts';
import type { QuantChoice } from '../../model/plan.ts';
import { NodeFolderModelSource } from '../../model/source-node.ts';
import { choiceFlag, parseArgs, stringFlag } from '../args.ts';
import type { CliCommand } from './types.ts';

export const command: CliCommand = {
  summary: 'load a model folder or .gguf onto the GPU (quantizing on load) and report memory and time',
  async run(argv) {
    const args = parseArgs(argv, ['json', 'no-cpu-fallback']);
    const model = stringFlag(args, 'model');
    if (!model)
      throw new Error(
        'load needs --model DIR (a Hugging Face folder with config.json and safetensors) or a .gguf file',
      );
    const quant = choiceFlag<QuantChoice>(args, 'quant', ['none', 'q8_0', 'q4_0', 'nf4'], 'none');
    const embeddings = args.flags.has('embeddings')
      ? choiceFlag<ConvertFormat>(args, 'embeddings', WEIGHT_FORMATS, 'q8_0')
      : undefined;
    const json = args.flags.has('json');

    const rt = new GpuRuntime(await acquireDevice(await nodeGpu({ cpuFallback: !args.flags.has('no-cpu-fallback') })));
    try {
      const source = await NodeFolderModelSource.open(model);
      let lastPct = -1;
      const { weights, report } = await loadModel(rt, source, {
        quant,
        ...(embeddings ? { embeddings } : {}),
        onProgress: json
          ? undefined
          : (p) => {
              const pct = Math.floor((100 * p.bytesRead) / Math.max(1, p.totalBytes));
              if (pct >= lastPct + 10 || p.done === p.total) {
                lastPct = pct;
                process.stderr.write(`loading: ${p.done}/${p.total} tensors, ${pct}%\n`);
              }
            },
      });
      const gpu = rt.memory.stats();
      const d = weights.desc;
      const summary = {
        model: source.name,
        arch: d.arch,
        parameters: parameterCount(d),
        format: report.format,
        files: report.files,
        quant,
        tensors_read: report.tensorsRead,
        gpu_weights: report.weights,
        bytes_by_format: report.bytesByFormat,
        fallbacks: report.fallbacks,
        kept: report.kept,
        conversions: report.conversions,
        unused: report.unused,
        gpu_memory: { live_bytes: gpu.liveBytes, peak_bytes: gpu.peakBytes, weights_bytes: report.gpuBytes },
        bytes_read: report.bytesRead,
        largest_tensor_bytes: report.largestTensorBytes,
        host_peak_bytes: report.hostPeakBytes,
        process: report.process,
        load_ms: Math.round(report.ms),
      };
      if (json) {
        process.stdout.write(`${JSON.stringify(summary)}\n`);
        return 0;
      }
      const lines = [
        `${source.name}: ${d.arch}, ${(summary.parameters / 1e6).toFixed(1)}M parameters, ${report.format} (${report.files.join(', ')}), quant ${quant}`,
        `tensors read ${report.tensorsRead}, GPU weights ${report.weights}${report.fallbacks.length ? `, ${report.fallbacks.length} kept dense (rows not whole blocks)` : ''}`,
        ...loadNotes(report.kept, report.conversions),
        ...Object.entries(report.bytesByFormat).map(([k, v]) => `  ${k.padEnd(20)} ${formatBytes(v).padStart(11)}`),
        `GPU memory: ${formatBytes(gpu.liveBytes)} live, ${formatBytes(gpu.peakBytes)} peak`,
        `host peak (loader): ${formatBytes(report.hostPeakBytes)} (largest tensor ${formatBytes(report.largestTensorBytes)}, read ${formatBytes(report.bytesRead)})`,
        ...(report.process
          ? [
              `process: rss ${formatBytes(report.process.rssBefore)} → peak ${formatBytes(report.process.rssPeak)}, array buffers peak ${formatBytes(report.process.arrayBuffersPeak)}`,
            ]
          : []),
        `load time: ${(report.ms / 1000).toFixed(2)} s`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
      return 0;
    } finally {
      rt.destroy();
    }
  },
};
