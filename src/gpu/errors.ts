/**
 * Typed GPU errors with messages a user can act on. Every failure the GPU runtime can meet
 * (no WebGPU, no adapter, validation, out of memory, device loss) ends up as one of these.
 */
import type { GpuErrorKind } from '../schema/errors.ts';

export type { GpuErrorKind };

export class GpuError extends Error {
  readonly kind: GpuErrorKind;
  /** What the user can do about it, in one sentence. */
  readonly hint: string;
  constructor(kind: GpuErrorKind, message: string, hint: string, options?: { cause?: unknown }) {
    super(`${message} ${hint}`.trim(), options);
    this.name = 'GpuError';
    this.kind = kind;
    this.hint = hint;
  }
}

export function webGpuUnavailable(): GpuError {
  return new GpuError(
    'unavailable',
    'This browser does not expose WebGPU (navigator.gpu is missing).',
    'Use a recent Chrome, Edge or another Chromium-based browser (version 113 or newer), or Firefox 141+ / Safari 26+; ' +
      'on Linux start Chromium with --enable-unsafe-webgpu --enable-features=Vulkan. The page must be served over https or from localhost.',
  );
}

export function noAdapter(): GpuError {
  return new GpuError(
    'no-adapter',
    'WebGPU is present but no GPU adapter was found.',
    'Check that hardware acceleration is on (chrome://settings/system) and that your GPU driver is not blocklisted (chrome://gpu). ' +
      'In Node, point VK_ICD_FILENAMES at a Vulkan driver (for a CPU fallback: /usr/lib/chromium/vk_swiftshader_icd.json).',
  );
}

/** Converts an error popped from an error scope; `filter` is the scope it came from. */
export function fromGpuError(error: GPUError, filter: GPUErrorFilter, what: string): GpuError {
  if (filter === 'out-of-memory') {
    return new GpuError(
      'out-of-memory',
      `The GPU ran out of memory while ${what}.`,
      'Lower the sequence length, the batch size or the LoRA rank, turn on gradient checkpointing, or pick a 4-bit (nf4/q4_0) base; close other tabs that use the GPU.',
      { cause: error },
    );
  }
  if (filter === 'internal') {
    return new GpuError(
      'internal',
      `The GPU driver failed while ${what}: ${error.message}`,
      'Try again; if it repeats, update the GPU driver or browser.',
      {
        cause: error,
      },
    );
  }
  return new GpuError(
    'validation',
    `WebGPU rejected a command while ${what}: ${error.message}`,
    'This is a bug in the app; please report it with this message.',
    {
      cause: error,
    },
  );
}

export function deviceLost(info: GPUDeviceLostInfo): GpuError {
  return new GpuError(
    'device-lost',
    `The GPU device was lost (${info.reason}): ${info.message || 'no details from the driver'}.`,
    'Your data and the last checkpoint are kept; reload the page (or restart the command) to resume. If it repeats, lower memory use or update the GPU driver.',
  );
}
