#!/usr/bin/env python3
"""One table from bench-train's ours.json and peft_bench.py's theirs.json: tokens/s, peak GPU memory, the ratio.

Pairs: our NF4 base with PyTorch's NF4 (QLoRA, both 4-bit) and with PyTorch's bf16 (the issue's goal: at least
half of bf16 PyTorch + PEFT), our f16 base with PyTorch's bf16 (both 16-bit).
"""
import json
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print(f"({path}: {e})")
        return {"results": []}


def main(ours_path, theirs_path):
    ours = load(ours_path)
    theirs = load(theirs_path)
    if ours.get("adapter"):
        print(f"ours: {ours['adapter']}; best f32 matmul {ours.get('bestMatmulGflops', 0):.1f} GFLOP/s")
    found = {(r["key"], r["base"]): r for r in theirs.get("results", [])}
    if theirs.get("results"):
        r0 = theirs["results"][0]
        print(f"theirs: torch {r0.get('torch')} on {r0.get('device')}")
    mib = lambda v: "" if v is None else f"{v:.0f}"
    print()
    print("| model | T | ours: base | tokens/s | peak MiB | PyTorch + PEFT: base | tokens/s | peak MiB | ratio ours / theirs |")
    print("|---|---:|---|---:|---:|---|---:|---:|---:|")
    for r in ours.get("results", []):
        pairs = ["nf4", "bf16"] if r["base"] == "nf4" else ["bf16"]
        for tb in pairs:
            t = found.get((r["key"], tb))
            ratio = f"{r['tokensPerS'] / t['tokensPerS']:.2f}" if t else "n/a"
            print(
                f"| {r['key']} | {r['T']} | {r['base']} | {r['tokensPerS']:.0f} | {mib(r.get('peakMiB'))} | {tb} | "
                f"{t['tokensPerS']:.0f} | {mib(t.get('peakMiB'))} | {ratio} |"
                if t
                else f"| {r['key']} | {r['T']} | {r['base']} | {r['tokensPerS']:.0f} | {mib(r.get('peakMiB'))} | {tb} | n/a | | n/a |"
            )
    for s in theirs.get("skipped", []):
        print(f"\nPyTorch skipped: {s}")
    print()
    print("ours, per steady step: createBuffer / createBindGroup / submits / passes / dispatches / readbacks, JS ms")
    for r in ours.get("results", []):
        c = r["calls"]
        print(
            f"  {r['key']} {r['base']}: {c['createBuffer']} / {c['createBindGroup']} / {c['submits']} / {c['passes']} / "
            f"{c['dispatches']} / {c['readbacks']}, {r['jsMs']:.1f} ms; step FLOP/s {r['ratio']:.2f}x the best matmul"
        )


if __name__ == "__main__":
    main(*(sys.argv[1:3] if len(sys.argv) >= 3 else ["ours.json", "theirs.json"]))
