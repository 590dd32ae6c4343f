#!/bin/sh
# Packs the GPU benchmark into one file that travels to a GPU box without network access (< 64 MiB):
#   bench/gpu/out/lora-bench.tar.xz  =  app/bench-train.js      bench/train.ts with every dependency inlined
#                                       app/node_modules/webgpu  the package's index.js + linux-x64 dawn.node
#                                       bin/node                 this machine's Node binary
#                                       lib/libvulkan.so.1       Vulkan's loader, from Debian's libvulkan1 package
#                                       run.sh, peft_bench.py, table.py
# Run from the repository root: sh bench/gpu/pack.sh   (then copy the tarball and bench/gpu/run.sh there).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$here/out"
stage="$out/stage"
rm -rf "$stage" "$out/app"
mkdir -p "$stage/bin" "$stage/lib"

cd "$root"
BENCH_GPU_OUT="$stage/app" npx vite build -c bench/gpu/vite.bench.config.ts
mkdir -p "$stage/app/node_modules/webgpu/dist/linux-x64"
cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$stage/app/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$stage/app/node_modules/webgpu/dist/linux-x64/"
cp "$(command -v node)" "$stage/bin/node"
loader=$(dpkg -L libvulkan1 2>/dev/null | grep '/libvulkan\.so\.1\.' | head -n 1 || true)
if [ -z "$loader" ]; then
  echo "pack: Debian's libvulkan1 is not installed; run: apt-get install -y libvulkan1" >&2
  exit 1
fi
cp "$loader" "$stage/lib/libvulkan.so.1"
dpkg-query -W -f '${Package} ${Version}\n' libvulkan1 > "$stage/lib/VERSION"
node -v > "$stage/bin/VERSION"
cp "$here/run.sh" "$here/peft_bench.py" "$here/table.py" "$stage/"

tar -C "$stage" -cf - . | xz -T2 -9 > "$out/lora-bench.tar.xz"
bytes=$(stat -c %s "$out/lora-bench.tar.xz")
rm -rf "$stage"
echo "pack: $out/lora-bench.tar.xz, $bytes bytes ($((bytes / 1048576)) MiB)"
if [ "$bytes" -ge $((64 * 1048576)) ]; then
  echo "pack: the bundle is 64 MiB or more; it must be smaller to travel" >&2
  exit 1
fi
