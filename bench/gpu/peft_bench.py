#!/usr/bin/env python3
"""PyTorch + PEFT LoRA training steps on the shapes bench/train.ts uses (its SIZES table), for bench/gpu/run.sh.

Same work as ours: random weights of the model shape (Llama layout, so no q/k/v bias, tied embeddings for the Qwen2.5
shapes), LoRA r = 16, alpha = 32, dropout 0 on the seven projections, gradient checkpointing, batch 1 × T tokens
(every token trained), AdamW with the gradient norm clipped at 1. Bases: bf16 (the issue's baseline) and NF4
(bitsandbytes QLoRA, when bitsandbytes is importable and the device is CUDA). Reports tokens/s over the timed steps
(after two warm-up steps) and torch.cuda.max_memory_allocated (weights included) as JSON.
"""
import argparse
import json
import os
import sys
import tempfile
import time

SIZES = {
    "tiny-c256": dict(hidden=256, layers=4, heads=4, kv=2, inter=688, vocab=4096, tie=False),
    "tiny-c512": dict(hidden=512, layers=4, heads=8, kv=4, inter=1376, vocab=8192, tie=False),
    "smollm": dict(hidden=576, layers=30, heads=9, kv=3, inter=1536, vocab=49152, tie=True),
    "qwen0.5b": dict(hidden=896, layers=24, heads=14, kv=2, inter=4864, vocab=151936, tie=True),
    "qwen1.5b": dict(hidden=1536, layers=28, heads=12, kv=2, inter=8960, vocab=151936, tie=True),
}
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def build(key, base, device):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    s = SIZES[key]
    config = LlamaConfig(
        hidden_size=s["hidden"],
        num_hidden_layers=s["layers"],
        num_attention_heads=s["heads"],
        num_key_value_heads=s["kv"],
        intermediate_size=s["inter"],
        vocab_size=s["vocab"],
        tie_word_embeddings=s["tie"],
        max_position_embeddings=4096,
        use_cache=False,
    )
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    if base == "bf16":
        with torch.device(device):
            model = LlamaForCausalLM._from_config(config, torch_dtype=dtype)
        return model
    # NF4: bitsandbytes quantizes at load time, so the random model goes through a checkpoint on local disk.
    from peft import prepare_model_for_kbit_training
    from transformers import BitsAndBytesConfig

    with tempfile.TemporaryDirectory() as tmp:
        with torch.device("cpu"):
            LlamaForCausalLM._from_config(config, torch_dtype=torch.bfloat16).save_pretrained(tmp)
        quant = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_compute_dtype=torch.bfloat16,
            bnb_4bit_use_double_quant=False,
        )
        model = LlamaForCausalLM.from_pretrained(tmp, quantization_config=quant, device_map={"": 0})
    return prepare_model_for_kbit_training(model, use_gradient_checkpointing=True)


def bench(key, base, T, steps, device):
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    model = build(key, base, device)
    model.config.use_cache = False
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.enable_input_require_grads()
    model = get_peft_model(
        model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules=TARGETS, task_type="CAUSAL_LM")
    )
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0)
    V = SIZES[key]["vocab"]
    ids = torch.tensor([[(i * 7919) % V for i in range(T)]], device=device)

    def step():
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for _ in range(2):
        step()
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        loss = step()
    sync()
    seconds = (time.perf_counter() - start) / steps
    peak = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None
    result = dict(
        key=key,
        base=base,
        T=T,
        stepMs=seconds * 1000,
        tokensPerS=T / seconds,
        peakMiB=peak,
        loss=float(loss),
        torch=torch.__version__,
        device=torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
    )
    del model, opt
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="qwen0.5b,qwen1.5b")
    ap.add_argument("--bases", default="bf16,nf4")
    ap.add_argument("--T", type=int, default=512)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    import torch

    if a.device == "cuda" and not torch.cuda.is_available():
        sys.exit("peft_bench: CUDA is not available (pass --device cpu for a rehearsal)")
    results, skipped = [], []
    for key in a.models.split(","):
        for base in a.bases.split(","):
            if base == "nf4":
                try:
                    import bitsandbytes  # noqa: F401
                except ImportError:
                    skipped.append(f"{key} nf4: bitsandbytes is not importable")
                    continue
                if a.device != "cuda":
                    skipped.append(f"{key} nf4: bitsandbytes NF4 needs CUDA")
                    continue
            try:
                r = bench(key, base, a.T, a.steps, a.device)
            except Exception as e:  # one failing row must not cost the others
                skipped.append(f"{key} {base}: {type(e).__name__}: {e}")
                continue
            results.append(r)
            print(json.dumps(r), flush=True)
    for s in skipped:
        print(f"skipped: {s}", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(results=results, skipped=skipped), f, indent=2)


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
