/**
 * TF.js's WebGPU backend on the same adapter, in the same process, as the yardstick for our f32 matmul.
 * TF.js reads `navigator.gpu`; in Node we point it at the same Dawn `GPU` object our runtime uses.
 */
export interface TfMatmul {
  /** Median ms of y = x·Wᵀ for x [N, K], W [M, K] (the same product our matmul_forward computes). */
  time(N: number, K: number, M: number, opts: { reps: number; trials: number }): Promise<number>;
  adapter: string;
}

export async function tfjsMatmul(gpu: GPU): Promise<TfMatmul> {
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (!g.navigator?.gpu)
    Object.defineProperty(globalThis, 'navigator', {
      value: { ...(g.navigator ?? {}), gpu, userAgent: 'node' },
      configurable: true,
    });
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('TF.js could not start its WebGPU backend');
  await tf.ready();
  const backend = tf.backend() as unknown as {
    device: GPUDevice;
    submitQueue(): void;
    ensureCommandEncoderReady(): void;
    endComputePassEncoder(): void;
    adapterInfo?: { vendor?: string; architecture?: string };
  };
  const settle = async () => {
    backend.ensureCommandEncoderReady();
    backend.endComputePassEncoder();
    backend.submitQueue();
    await backend.device.queue.onSubmittedWorkDone();
  };
  return {
    adapter: `${backend.adapterInfo?.vendor ?? ''} ${backend.adapterInfo?.architecture ?? ''}`.trim(),
    async time(N, K, M, opts) {
      const x = tf.randomUniform([N, K]);
      const w = tf.randomUniform([M, K]);
      tf.matMul(x, w, false, true).dispose();
      await settle();
      const times: number[] = [];
      for (let t = 0; t < opts.trials; t++) {
        const start = performance.now();
        for (let r = 0; r < opts.reps; r++) tf.matMul(x, w, false, true).dispose();
        await settle();
        times.push((performance.now() - start) / opts.reps);
      }
      x.dispose();
      w.dispose();
      return [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
    },
  };
}
