/**
 * The committed protobuf.js code for ONNX (src/formats/onnx/onnx-pb.js / .d.ts) is what scripts/gen-onnx-proto.mjs
 * generates from the committed official onnx.proto, byte for byte: neither can drift from the other.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';

it('onnx-pb.js and onnx-pb.d.ts are generated from onnx.proto', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'onnx-pb-'));
  try {
    execFileSync(process.execPath, ['scripts/gen-onnx-proto.mjs', dir], { stdio: 'pipe' });
    for (const f of ['onnx-pb.js', 'onnx-pb.d.ts']) {
      const fresh = await readFile(join(dir, f), 'utf8');
      const committed = await readFile(join('src', 'formats', 'onnx', f), 'utf8');
      expect(committed === fresh, `${f} differs from a fresh generation: run node scripts/gen-onnx-proto.mjs`).toBe(
        true,
      );
    }
    const proto = await readFile(join('src', 'formats', 'onnx', 'onnx.proto'), 'utf8');
    expect(proto).toContain('SPDX-License-Identifier: Apache-2.0');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
