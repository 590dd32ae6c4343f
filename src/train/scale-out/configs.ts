/** accelerate_config.yaml (DDP, with FSDP and DeepSpeed ZeRO-2 variants commented) and axolotl.yaml of a run. */
import { yamlValue } from './python.ts';
import { type ScaleOutRun, axolotlSettings } from './settings.ts';

export function accelerateConfig(r: ScaleOutRun): string {
  const c = r.config;
  return `# accelerate launch --config_file accelerate_config.yaml train.py
# DDP (the default): one process per GPU, each with the whole model; the adapter's gradients are averaged.
# Set num_processes to the number of GPUs (or pass --num_processes N to accelerate launch).
compute_environment: LOCAL_MACHINE
distributed_type: MULTI_GPU
num_machines: 1
machine_rank: 0
num_processes: 8
gpu_ids: all
mixed_precision: bf16
main_training_function: main
rdzv_backend: static
same_network: true
use_cpu: false

# FSDP instead (shards the base weights over the GPUs, for models that do not fit one): replace
# "distributed_type: MULTI_GPU" above with these lines. With a 4-bit base (QLoRA), FSDP needs the 4-bit weights
# stored as bf16: add bnb_4bit_quant_storage=torch.bfloat16 to BitsAndBytesConfig in train.py.
# distributed_type: FSDP
# fsdp_config:
#   fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP
#   fsdp_sharding_strategy: FULL_SHARD
#   fsdp_state_dict_type: SHARDED_STATE_DICT
#   fsdp_backward_prefetch: BACKWARD_PRE
#   fsdp_cpu_ram_efficient_loading: true
#   fsdp_sync_module_states: true
#   fsdp_use_orig_params: false
#   fsdp_offload_params: false

# DeepSpeed ZeRO-2 instead (shards optimizer state and gradients): replace "distributed_type: MULTI_GPU" with:
# distributed_type: DEEPSPEED
# deepspeed_config:
#   zero_stage: 2
#   gradient_accumulation_steps: ${c.gradAccum}
#   gradient_clipping: ${c.optim.maxGradNorm}
#   offload_optimizer_device: none
#   offload_param_device: none
#   zero3_init_flag: false
`;
}

/** Keys of axolotlSettings that belong to each dataset entry, not to the top level. */
const DATASET_KEYS = new Set(['roles_to_train', 'train_on_eos']);

export function axolotlYaml(r: ScaleOutRun, kinds: { chat: boolean; validRows: number }): string {
  const all = axolotlSettings(r);
  const top = Object.entries(all).filter(([k]) => !DATASET_KEYS.has(k));
  const perDataset = Object.entries(all).filter(([k]) => DATASET_KEYS.has(k));
  const dataset = (path: string, test: boolean) =>
    [
      `  - path: ${yamlValue(path)}`,
      '    ds_type: json',
      // a local JSON file is one split named train
      ...(test ? ['    split: train'] : []),
      ...(kinds.chat
        ? [
            '    type: chat_template',
            '    chat_template: tokenizer_default',
            '    field_messages: messages',
            ...perDataset.map(([k, v]) => `    ${k}: ${yamlValue(v)}`),
          ]
        : ['    type: completion', '    field: text']),
    ].join('\n');
  return `# axolotl train axolotl.yaml: the same run with axolotl (docs/scale-out.md says what differs from train.py).
base_model: ${yamlValue(r.model.id)}
${r.model.revision ? `revision_of_model: ${yamlValue(r.model.revision)}\n` : ''}
datasets:
${dataset('train.jsonl', false)}
${kinds.validRows > 0 ? `test_datasets:\n${dataset('valid.jsonl', true)}\n` : ''}
${top.map(([k, v]) => `${k}: ${yamlValue(v)}`).join('\n')}
optimizer: adamw_torch
bf16: auto
logging_steps: 1
output_dir: ./out-axolotl
`;
}
