import { describe, expect, it } from 'vitest';
import { GpuError } from '../../../src/gpu/errors.ts';
import { StorageQuotaError } from '../../../src/storage/quota.ts';
import { trainingError } from '../../../src/worker/train-errors.ts';

describe('errors that stop a run', () => {
  it('say what happened and how to go on: quota, out of memory, device lost, anything else', () => {
    const quota = trainingError(new StorageQuotaError('Not enough browser storage to save the checkpoint of step 40.'));
    expect(quota.message).toMatch(/storage/);
    expect(quota.hint).toMatch(/Delete .* then press Resume/);
    const oom = trainingError(new GpuError('out-of-memory', 'The GPU ran out of memory.', 'Close other tabs.'));
    expect(oom.kind).toBe('out-of-memory');
    expect(oom.message).toBe('The GPU ran out of memory.');
    expect(oom.hint).toMatch(/Close other tabs\. .*checkpoints are kept.*micro-batch/);
    const lost = trainingError(new GpuError('device-lost', 'The GPU device was lost.', 'Reload.'));
    expect(lost.hint).toMatch(/Resume/);
    const other = trainingError(new Error('The dataset of this run was deleted.'));
    expect(other).toEqual({
      kind: 'unknown',
      message: 'The dataset of this run was deleted.',
      hint: expect.stringMatching(/Resume/),
    });
  });
});
