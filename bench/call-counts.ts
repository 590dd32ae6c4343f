/**
 * Counts the WebGPU calls a piece of host code makes, by wrapping one device's methods (benchmarks and tests only;
 * the app never wraps its device). Optionally elides every dispatch (the pass is still encoded and submitted, the
 * workgroups are not run), so the wall time of a step is its host-side time alone.
 */

export interface CallCounts {
  createBuffer: number;
  createBindGroup: number;
  submits: number;
  /** Compute passes begun. */
  passes: number;
  dispatches: number;
  /** mapAsync calls on MAP_READ buffers. */
  readbacks: number;
  /** queue.writeBuffer calls and their bytes. */
  writeBuffers: number;
  writeBytes: number;
}

export interface CallCounter {
  readonly counts: CallCounts;
  /** Zeroes the counts. */
  reset(): void;
  /** While true, dispatchWorkgroups records nothing (host-time measurement). */
  elide: boolean;
}

const zero = (): CallCounts => ({
  createBuffer: 0,
  createBindGroup: 0,
  submits: 0,
  passes: 0,
  dispatches: 0,
  readbacks: 0,
  writeBuffers: 0,
  writeBytes: 0,
});

/** Wraps `device` (and the encoders, passes and readable buffers it creates from now on) to count calls. */
export function countCalls(device: GPUDevice): CallCounter {
  const counter: CallCounter = {
    counts: zero(),
    reset() {
      Object.assign(counter.counts, zero());
    },
    elide: false,
  };
  const c = counter.counts;
  const createBuffer = device.createBuffer.bind(device);
  device.createBuffer = (desc) => {
    c.createBuffer++;
    const buffer = createBuffer(desc);
    if (desc.usage & GPUBufferUsage.MAP_READ) {
      const mapAsync = buffer.mapAsync.bind(buffer);
      buffer.mapAsync = (...args) => {
        c.readbacks++;
        return mapAsync(...args);
      };
    }
    return buffer;
  };
  const createBindGroup = device.createBindGroup.bind(device);
  device.createBindGroup = (desc) => {
    c.createBindGroup++;
    return createBindGroup(desc);
  };
  const queue = device.queue;
  const submit = queue.submit.bind(queue);
  queue.submit = (buffers) => {
    c.submits++;
    return submit(buffers);
  };
  const writeBuffer = queue.writeBuffer.bind(queue) as (...args: unknown[]) => undefined;
  (queue as { writeBuffer: unknown }).writeBuffer = (...args: unknown[]) => {
    c.writeBuffers++;
    const data = args[2] as ArrayBufferView | ArrayBuffer;
    const elementBytes = ArrayBuffer.isView(data) ? ((data as Uint8Array).BYTES_PER_ELEMENT ?? 1) : 1;
    const size = args[4] as number | undefined;
    c.writeBytes +=
      size !== undefined ? size * elementBytes : data.byteLength - ((args[3] as number) ?? 0) * elementBytes;
    return writeBuffer(...args);
  };
  const createCommandEncoder = device.createCommandEncoder.bind(device);
  device.createCommandEncoder = (desc) => {
    const encoder = createCommandEncoder(desc);
    const beginComputePass = encoder.beginComputePass.bind(encoder);
    encoder.beginComputePass = (passDesc) => {
      c.passes++;
      const pass = beginComputePass(passDesc);
      const dispatch = pass.dispatchWorkgroups.bind(pass);
      pass.dispatchWorkgroups = (x, y, z) => {
        c.dispatches++;
        if (!counter.elide) dispatch(x, y, z);
      };
      return pass;
    };
    return encoder;
  };
  return counter;
}
