import type { DeviceStatus } from '../worker/contract.ts';
import { DevicePanel } from './DevicePanel.tsx';
import { NoGpuPanel } from './NoGpuPanel.tsx';

/** The engine worker's answer to "is there a GPU?", while it is starting and once it has answered. */
export type DevicePhase = { state: 'starting' } | { state: 'done'; status: DeviceStatus };

export function GpuPage({ phase }: { phase: DevicePhase }) {
  if (phase.state === 'starting') {
    return (
      <section class="card" aria-busy="true" data-testid="gpu-starting">
        <h2>Looking for your GPU…</h2>
        <p class="muted">Starting the engine worker and asking the browser for a WebGPU adapter.</p>
      </section>
    );
  }
  return phase.status.ok ? <DevicePanel info={phase.status.info} /> : <NoGpuPanel error={phase.status.error} />;
}
