#!/bin/sh
# The GPU benchmark, on an NVIDIA Linux box without network access (≤ 8 minutes):
#   sh run.sh [lora-bench.tar.xz] [--rehearse]
# 1. unpacks the bundle made by bench/gpu/pack.sh (Node, dawn.node, the Vulkan loader, the bench-train bundle);
# 2. runs bench-train on Qwen2.5-0.5B and 1.5B shapes (random weights) at T = 512 with NF4 and f16 bases;
# 3. runs PyTorch + PEFT (torch, transformers, peft installed there; bitsandbytes for the NF4 row) on the same
#    shapes, batch and sequence length;
# 4. prints one table: tokens/s, peak GPU memory, and the ratio, and leaves ours.json / theirs.json beside it.
# --rehearse: a tiny shape, Vulkan from SwiftShader when no GPU driver is found, and PyTorch on the CPU (or only
# compiled when torch is not importable): everything but the GPU part, for a machine without one.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bundle="$here/lora-bench.tar.xz"
rehearse=0
for a in "$@"; do
  case "$a" in
    --rehearse) rehearse=1 ;;
    *) bundle="$a" ;;
  esac
done
results="${RESULTS_DIR:-$PWD/lora-bench-results}"
mkdir -p "$results"
work=$(mktemp -d "${TMPDIR:-/tmp}/lora-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
xz -dc "$bundle" | tar -C "$work" -xf -
echo "bundle: node $(cat "$work/bin/VERSION"), $(cat "$work/lib/VERSION")"

# Vulkan: the loader travels with the bundle; the driver's ICD is the box's own.
export LD_LIBRARY_PATH="$work/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [ -z "${VK_ICD_FILENAMES:-}" ]; then
  for f in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json \
    /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json; do
    if [ -f "$f" ]; then export VK_ICD_FILENAMES="$f"; break; fi
  done
fi
if [ -z "${VK_ICD_FILENAMES:-}" ]; then
  # Containers often have the NVIDIA driver libraries without the ICD file: point the loader at the driver itself.
  glx=$(ls /usr/lib/x86_64-linux-gnu/libGLX_nvidia.so.0 /usr/lib64/libGLX_nvidia.so.0 2>/dev/null | head -n 1 || true)
  if [ -n "$glx" ]; then
    printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' "$glx" \
      > "$work/nvidia_icd.json"
    export VK_ICD_FILENAMES="$work/nvidia_icd.json"
  elif [ "$rehearse" = 1 ] && [ -f /usr/lib/chromium/vk_swiftshader_icd.json ]; then
    export VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
  else
    echo "run: no NVIDIA Vulkan driver found (no nvidia_icd.json, no libGLX_nvidia.so.0); set VK_ICD_FILENAMES" >&2
    exit 1
  fi
fi
echo "vulkan driver: $VK_ICD_FILENAMES"
command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true

if [ "$rehearse" = 1 ]; then
  models=tiny-c256
  seq=32
  steps=1
  ours_args="--calibrate 64"
  torch_args="--device cpu"
  ours_limit=${OURS_TIMEOUT:-1800} # SwiftShader on a shared CPU: slow, and not what is measured
else
  models=qwen0.5b,qwen1.5b
  seq=512
  steps=3
  ours_args=""
  torch_args=""
  ours_limit=${OURS_TIMEOUT:-300}
fi

echo "== ours: bench-train --models $models --bases nf4,f16 --T $seq"
# shellcheck disable=SC2086
timeout "$ours_limit" "$work/bin/node" "$work/app/bench-train.js" --models "$models" --bases nf4,f16 --T "$seq" \
  --steps "$steps" --json "$results/ours.json" $ours_args || echo "run: bench-train failed or ran out of time ($?)"

echo "== PyTorch + PEFT on the same shapes"
if python3 -c 'import torch, transformers, peft' 2> /dev/null; then
  # shellcheck disable=SC2086
  timeout 150 python3 "$work/peft_bench.py" --models "$models" --T "$seq" --steps "$((steps + 2))" \
    --json "$results/theirs.json" $torch_args || echo "run: the PyTorch benchmark failed or ran out of time ($?)"
else
  echo "torch, transformers or peft is not importable here: peft_bench.py only compiled"
  python3 -m py_compile "$work/peft_bench.py" "$work/table.py"
fi

python3 "$work/table.py" "$results/ours.json" "$results/theirs.json"
echo "total: $(($(date +%s) - start)) s; results in $results"
