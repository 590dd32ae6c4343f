import type { EngineError } from '../worker/contract.ts';

export function NoGpuPanel({ error }: { error: EngineError }) {
  return (
    <section class="card problem" role="alert" data-testid="gpu-missing">
      <div class="card-head">
        <span class="dot bad" aria-hidden="true" />
        <h2>
          {error.kind === 'unavailable'
            ? 'WebGPU is not available in this browser'
            : error.kind === 'no-adapter'
              ? 'No GPU adapter found'
              : 'The GPU could not be started'}
        </h2>
      </div>
      <p>{error.message}</p>
      <p class="hint">
        <strong>What to do: </strong>
        {error.hint}
      </p>
    </section>
  );
}
