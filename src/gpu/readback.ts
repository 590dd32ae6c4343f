/** Copies between host memory and GPU buffers. */

/** Reads `bytes` bytes of `buffer` starting at `offset` (both multiples of 4) back to the host. */
export async function readBuffer(
  device: GPUDevice,
  buffer: GPUBuffer,
  bytes = buffer.size,
  offset = 0,
): Promise<ArrayBuffer> {
  const size = Math.ceil(bytes / 4) * 4;
  const staging = device.createBuffer({
    label: `readback/${buffer.label}`,
    size,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  try {
    const encoder = device.createCommandEncoder({ label: 'readback' });
    encoder.copyBufferToBuffer(buffer, offset, staging, 0, size);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    return staging.getMappedRange().slice(0, bytes);
  } finally {
    staging.destroy();
  }
}

export async function readF32(
  device: GPUDevice,
  buffer: GPUBuffer,
  count?: number,
  offsetElements = 0,
): Promise<Float32Array> {
  const n = count ?? buffer.size / 4 - offsetElements;
  return new Float32Array(await readBuffer(device, buffer, n * 4, offsetElements * 4));
}

export async function readU32(
  device: GPUDevice,
  buffer: GPUBuffer,
  count?: number,
  offsetElements = 0,
): Promise<Uint32Array> {
  const n = count ?? buffer.size / 4 - offsetElements;
  return new Uint32Array(await readBuffer(device, buffer, n * 4, offsetElements * 4));
}

/** Writes host data into an existing buffer (pads the copy to 4 bytes as WebGPU requires). */
export function writeBuffer(device: GPUDevice, buffer: GPUBuffer, data: ArrayBufferView, offset = 0): void {
  const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  if (bytes.byteLength % 4 === 0) {
    device.queue.writeBuffer(buffer, offset, bytes);
    return;
  }
  const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
  padded.set(bytes);
  device.queue.writeBuffer(buffer, offset, padded);
}
