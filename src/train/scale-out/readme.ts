/** README.md and requirements.txt of the scale-out folder: the three commands, and where each setting went. */
import type { DatasetFileCounts } from './dataset-files.ts';
import { SETTING_TABLES, type ScaleOutRun } from './settings.ts';

export function requirementsTxt(r: ScaleOutRun): string {
  return `torch
transformers>=4.46
peft>=0.13
accelerate>=1.0
datasets
# optional: train.py uses TRL's SFTTrainer when it is installed, transformers' Trainer otherwise
trl>=0.19
${r.config.base === 'none' ? '' : 'bitsandbytes>=0.43\n'}`;
}

/** The settings table: each field of the run settings schema, where it went, and notes. */
function settingsTable(r: ScaleOutRun): string {
  const rows = SETTING_TABLES.flatMap(({ path, table }) =>
    Object.entries(table).map(([field, m]) => {
      const name = `\`${path}.${field}\``;
      if (m.kind !== 'carried')
        return `| ${name} | ${m.kind === 'data-files' ? 'in the data files' : '—'} | | ${m.note} |`;
      const py = Object.entries(m.py(r))
        .flatMap(([g, kv]) => Object.keys(kv).map((k) => `\`${g}["${k}"]\``))
        .join(', ');
      const ax = Object.keys(m.axolotl(r))
        .map((k) => `\`${k}\``)
        .join(', ');
      return `| ${name} | ${py} | ${ax || '—'} | ${m.note ?? ''} |`;
    }),
  );
  return ['| app setting | train.py | axolotl.yaml | note |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

export function scaleOutReadme(r: ScaleOutRun, counts: DatasetFileCounts, appModel: string): string {
  const rev = r.model.revision ? ` at revision \`${r.model.revision}\`` : '';
  return `# Scale-out of the LoRA Studio run "${r.name}"

The same LoRA run as in LoRA Studio, for transformers + PEFT with accelerate (one GPU, DDP, FSDP or DeepSpeed), or
axolotl. Base model: \`${r.model.id}\`${rev}. Data: ${counts.train} training and ${counts.valid} validation rows
(\`train.jsonl\`, \`valid.jsonl\`), exactly as the run saw them${counts.leftOut > 0 ? ` (${counts.leftOut} rows the run left out — too long or nothing to learn — are not written)` : ''}; loss on ${maskWords(r.settings.mask)}.

| file | what |
| --- | --- |
| \`train.py\` | transformers + PEFT (TRL's SFTTrainer when installed), every setting of the run at the top |
| \`accelerate_config.yaml\` | DDP on one machine; FSDP and DeepSpeed ZeRO-2 variants commented |
| \`axolotl.yaml\` | the same settings for \`axolotl train\` |
| \`requirements.txt\` | the Python packages |
| \`lora-studio-run.json\` | the run's settings as the app stores them |

## Three commands

1. \`pip install -r requirements.txt\`
2. \`accelerate launch --config_file accelerate_config.yaml --num_processes <GPUs> train.py\` (on one GPU: \`python train.py\`;
   a bigger model: \`--model <hub id>\`; a short test: \`--max-steps 10\`). With axolotl: \`axolotl train axolotl.yaml\`.
3. Bring the adapter back: \`out/\` is a PEFT folder (\`adapter_config.json\`, \`adapter_model.safetensors\`). In the app,
   Train page → "Import a PEFT adapter" makes it a run (chat, compare, continue training, export). From the command line:
   \`npm run cli -- export --adapter out --model ${appModel} --format gguf --out adapter-gguf\` (or mlx, merged, onnx),
   \`npm run cli -- train --adapter out --model ${appModel} --data … --out …\` to continue training it.

\`out/metrics.jsonl\` has the app's metric names (\`step\`, \`loss\`, \`lr\`, \`grad_norm\`, \`epoch\`, \`val_loss\`), so the
two runs' curves can be laid over each other.

## Where each setting went

${settingsTable(r)}

## What is not the same

- The data order and the adapter's initial A come from torch, not from the app's seeded generators; start from the
  app's adapter with \`--init-adapter DIR\` for the same start.
- The validation loss is transformers' mean of per-batch means; the app's is the mean over all validation tokens.
- bf16 weights and activations where the GPU has bf16; the app computes in f32 (over its quantized base for QLoRA).
`;
}

function maskWords(mask: ScaleOutRun['settings']['mask']): string {
  if (mask === 'all') return 'every token';
  if (mask === 'last') return 'the last answer of each conversation';
  return 'the answers (each assistant turn and its end-of-turn token)';
}
