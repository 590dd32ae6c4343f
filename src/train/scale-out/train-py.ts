/**
 * train.py of the scale-out folder: transformers + PEFT (TRL's SFTTrainer when it is installed, else transformers'
 * Trainer), with the run's settings as five dicts at the top (settings.ts maps each app setting to them), the same
 * loss masks as the app (src/data/mask.ts: an answer is located by rendering prefixes of the conversation, and runs
 * through the first special token the template writes after it), the app's learning-rate schedule
 * (src/train/schedule.ts), and metrics.jsonl with the app's metric names.
 */
import { pyDict } from './python.ts';
import { type ScaleOutRun, pySettings } from './settings.ts';

export const SETTINGS_BEGIN = "# ---- the run's settings";
export const SETTINGS_END = "# ---- end of the run's settings";

const ARGS_NOTES: Record<string, string> = {
  max_steps: '-1: train for num_train_epochs',
  data_seed: 'the order of the rows',
};

export function trainPy(r: ScaleOutRun): string {
  const s = pySettings(r);
  return `#!/usr/bin/env python3
"""Train the LoRA adapter of the LoRA Studio run ${JSON.stringify(r.name)} with transformers + PEFT.

    pip install -r requirements.txt
    accelerate launch --config_file accelerate_config.yaml train.py [--model ID] [--max-steps N] [--output-dir DIR]

Written by LoRA Studio's scale-out export (docs/scale-out.md). The settings below are the run's; the rows are
train.jsonl / valid.jsonl, exactly as the run saw them. The adapter (adapter_config.json, adapter_model.safetensors)
and metrics.jsonl land in --output-dir.
"""
import argparse
import json
import math
import os
import re
import time
from pathlib import Path

import torch
from peft import LoraConfig, PeftModel, get_peft_model, prepare_model_for_kbit_training
from torch.optim.lr_scheduler import LambdaLR
from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig, Trainer, TrainerCallback

try:  # TRL's SFTTrainer when it is installed; transformers' Trainer with the same masks otherwise.
    from trl import SFTConfig as Config, SFTTrainer as BaseTrainer

    USING_TRL = True
except ImportError:
    from transformers import TrainingArguments as Config

    BaseTrainer, USING_TRL = Trainer, False

HERE = Path(__file__).resolve().parent

${SETTINGS_BEGIN} (src/train/scale-out/settings.ts maps each app setting to these) ----
${pyDict('MODEL', s.MODEL, { quantization: 'bitsandbytes; None: the stored weights in bf16' })}
${pyDict('LORA', s.LORA, { layers_to_transform: 'None: every layer' })}
${pyDict('ARGS', s.ARGS, ARGS_NOTES)}
${pyDict('SCHEDULE', s.SCHEDULE)}
${pyDict('DATA', s.DATA, { eval_examples: 'the first N validation rows; None: all' })}
${SETTINGS_END} ----


def render(tok, messages, generation_prompt=False):
    return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)


def answer_spans(tok, text, messages):
    """Character spans of the assistant turns in text: from the end of the prompt for the turn through the first
    special token the template writes after the answer (its end-of-turn token), as the app's masker does."""
    specials = sorted({t.content for t in tok.added_tokens_decoder.values() if t.special and t.content}, key=len, reverse=True)
    special = re.compile("|".join(map(re.escape, specials))) if specials else None
    spans = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        prompt, upto = render(tok, messages[:i], True), render(tok, messages[: i + 1])
        if not text.startswith(prompt) or not upto.startswith(prompt):
            raise ValueError(f"message {i + 1}: the chat template renders its prompt differently; it cannot be masked")
        turn = upto[len(prompt):]
        eot = next((t.group() for t in special.finditer(turn) if turn.count(t.group()) > m["content"].count(t.group())), None) if special else None
        if text.startswith(upto):
            spans.append((len(prompt), len(prompt) + (turn.index(eot) + len(eot) if eot else len(turn.rstrip()))))
        else:  # the template renders this turn differently once others follow (Qwen3 drops earlier reasoning)
            end = text.index(eot, len(prompt))
            spans.append((len(prompt), end + len(eot)))
    return spans


def encode(tok, row):
    """input_ids and labels (-100 where the loss is masked) of one row, under DATA's mask and length policy."""
    if "messages" in row:
        text = render(tok, row["messages"])
        spans = answer_spans(tok, text, row["messages"])
        trained = {"all": [(0, len(text))], "last": spans[-1:], "answers": spans}[DATA["mask"]]
        enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
        ids = enc["input_ids"]
        keep = [any(a < e and b > s for s, e in trained) for a, b in enc["offset_mapping"]]
    else:  # raw text: every token, with BOS from the tokenizer and EOS appended, as the app does
        ids = tok(row["text"], add_special_tokens=True)["input_ids"]
        if tok.eos_token_id is not None and ids[-1:] != [tok.eos_token_id]:
            ids = ids + [tok.eos_token_id]
        keep = [True] * len(ids)
    if len(ids) > DATA["max_length"]:
        if DATA["over_length"] == "drop":
            return None
        ids, keep = ids[: DATA["max_length"]], keep[: DATA["max_length"]]
    labels = [t if k else -100 for t, k in zip(ids, keep)]
    return {"input_ids": ids, "labels": labels} if any(keep[1:]) else None


def load_rows(tok, name, limit=None):
    rows = [json.loads(line) for line in (HERE / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    encoded = [e for e in (encode(tok, r) for r in rows[:limit]) if e is not None]
    print(f"{name}: {len(encoded)} of {len(rows[:limit])} rows")
    return encoded


def collate(pad_id):
    def pad(rows):
        n = max(len(r["input_ids"]) for r in rows)
        fill = lambda key, v: torch.tensor([r[key] + [v] * (n - len(r[key])) for r in rows])
        mask = torch.tensor([[1] * len(r["input_ids"]) + [0] * (n - len(r["input_ids"])) for r in rows])
        return {"input_ids": fill("input_ids", pad_id), "labels": fill("labels", -100), "attention_mask": mask}

    return pad


def lr_factor(k, total):
    """The app's schedule (src/train/schedule.ts) for optimizer step s = k + 1: warm-up s/W, then cosine, linear or
    constant over (s - 1 - W) / (total - W), never below min_lr_ratio."""
    s, w = k + 1, SCHEDULE["warmup_steps"]
    if w > 0 and s <= w:
        return s / w
    if SCHEDULE["schedule"] == "constant":
        return 1.0
    p = min(1.0, max(0.0, (s - 1 - w) / max(1, total - w)))
    shape = 0.5 * (1 + math.cos(math.pi * p)) if SCHEDULE["schedule"] == "cosine" else 1 - p
    return SCHEDULE["min_lr_ratio"] + (1 - SCHEDULE["min_lr_ratio"]) * shape


class RunTrainer(BaseTrainer):
    def create_scheduler(self, num_training_steps, optimizer=None):
        if self.lr_scheduler is None:
            self.lr_scheduler = LambdaLR(optimizer or self.optimizer, lambda k: lr_factor(k, num_training_steps))
        return self.lr_scheduler


class MetricsJsonl(TrainerCallback):
    """metrics.jsonl with the app's names: {step, loss, lr, grad_norm, epoch, elapsed_ms} per step, {step, val_loss}."""

    def __init__(self, path):
        self.path, self.start = path, time.time()

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self.path.write_text("")

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        row = {"step": state.global_step}
        if "loss" in logs:
            lr = ARGS["learning_rate"] * lr_factor(state.global_step - 1, state.max_steps)
            row.update(loss=logs["loss"], lr=lr, grad_norm=logs.get("grad_norm"), epoch=logs.get("epoch"))
        elif "eval_loss" in logs:
            row.update(val_loss=logs["eval_loss"])
        else:
            return
        row["elapsed_ms"] = round(1000 * (time.time() - self.start))
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\\n")


def main():
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--model", default=MODEL["id"], help="base model (Hub id or folder); default: the run's")
    cli.add_argument("--revision", default=MODEL["revision"])
    cli.add_argument("--max-steps", type=int, help="stop after N optimizer steps")
    cli.add_argument("--output-dir", default=str(HERE / "out"))
    cli.add_argument("--init-adapter", help="start from this PEFT adapter instead of a fresh one")
    opts = cli.parse_args()
    Path(opts.output_dir).mkdir(parents=True, exist_ok=True)
    bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    tok = AutoTokenizer.from_pretrained(opts.model, revision=opts.revision)
    quant = MODEL["quantization"]
    model = AutoModelForCausalLM.from_pretrained(
        opts.model,
        revision=opts.revision,
        torch_dtype=torch.bfloat16 if bf16 else torch.float32,
        quantization_config=BitsAndBytesConfig(**quant, bnb_4bit_compute_dtype=torch.bfloat16) if quant else None,
        device_map={"": int(os.environ.get("LOCAL_RANK", 0))} if quant else None,
    )
    if quant:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=ARGS["gradient_checkpointing"])
    if isinstance(LORA["layers_to_transform"], dict):  # the top N layers of this model
        n = model.config.num_hidden_layers
        LORA["layers_to_transform"] = list(range(n - min(n, LORA["layers_to_transform"]["top"]), n))
    if opts.init_adapter:
        model = PeftModel.from_pretrained(model, opts.init_adapter, is_trainable=True)
    else:
        model = get_peft_model(model, LoraConfig(**LORA, bias="none", task_type="CAUSAL_LM"))
    model.print_trainable_parameters()
    if DATA["pack"]:
        print("note: the run packed rows; train.py trains one example per row (the same tokens and masks)")

    train = load_rows(tok, "train.jsonl")
    valid = load_rows(tok, "valid.jsonl", DATA["eval_examples"]) if ARGS["eval_strategy"] != "no" else []
    args = dict(ARGS, output_dir=opts.output_dir, bf16=bf16, logging_steps=1, report_to="none")
    args.update(remove_unused_columns=False, ddp_find_unused_parameters=False, save_only_model=True)
    args["gradient_checkpointing_kwargs"] = {"use_reentrant": False}
    if not valid:
        args.update(eval_strategy="no", eval_steps=None)
    if opts.max_steps:
        args["max_steps"] = opts.max_steps
    extra = {"processing_class": tok} if USING_TRL else {}
    if USING_TRL:
        args.update(max_length=DATA["max_length"], dataset_kwargs={"skip_prepare_dataset": True})
    from datasets import Dataset

    trainer = RunTrainer(
        model=model,
        args=Config(**args),
        data_collator=collate(tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id),
        train_dataset=Dataset.from_list(train),
        eval_dataset=Dataset.from_list(valid) if valid else None,
        callbacks=[MetricsJsonl(Path(opts.output_dir) / "metrics.jsonl")],
        **extra,
    )
    trainer.train()
    if valid and trainer.state.global_step % (ARGS["eval_steps"] or 1) != 0:
        trainer.evaluate()  # the app evaluates at the end too
    trainer.save_model(opts.output_dir)
    if trainer.is_world_process_zero():
        print(f"adapter written to {opts.output_dir}")


if __name__ == "__main__":
    main()
`;
}
