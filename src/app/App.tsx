import { useEffect, useState } from 'preact/hooks';
import { type EngineClient, startEngine } from '../worker/client.ts';
import type { DeviceStatus } from '../worker/contract.ts';
import { DevicePanel } from './DevicePanel.tsx';
import { NoGpuPanel } from './NoGpuPanel.tsx';

type Phase = { state: 'starting' } | { state: 'done'; status: DeviceStatus };

export function App() {
  const [phase, setPhase] = useState<Phase>({ state: 'starting' });

  useEffect(() => {
    let engine: EngineClient | undefined;
    let cancelled = false;
    try {
      engine = startEngine();
    } catch (err) {
      setPhase({
        state: 'done',
        status: { ok: false, error: { kind: 'unknown', message: `The engine worker could not start: ${(err as Error).message}`, hint: 'Use a browser that supports module workers (any current Chrome, Edge, Firefox or Safari).' } },
      });
      return;
    }
    engine.api.deviceInfo().then(
      (status) => !cancelled && setPhase({ state: 'done', status }),
      (err: unknown) =>
        !cancelled &&
        setPhase({ state: 'done', status: { ok: false, error: { kind: 'unknown', message: `The engine worker failed: ${String(err)}`, hint: 'Reload the page.' } } }),
    );
    return () => {
      cancelled = true;
      engine?.terminate();
    };
  }, []);

  return (
    <div class="shell">
      <header class="topbar">
        <div class="brand">
          <img src="/favicon.svg" alt="" width={28} height={28} />
          <span class="brand-name">LoRA Studio</span>
        </div>
        <p class="tagline">Fine-tune language models on your own GPU. Nothing to install; your data never leaves this machine.</p>
      </header>
      <main class="content">
        {phase.state === 'starting' ? (
          <section class="card" aria-busy="true" data-testid="gpu-starting">
            <h2>Looking for your GPU…</h2>
            <p class="muted">Starting the engine worker and asking the browser for a WebGPU adapter.</p>
          </section>
        ) : phase.status.ok ? (
          <DevicePanel info={phase.status.info} />
        ) : (
          <NoGpuPanel error={phase.status.error} />
        )}
      </main>
      <footer class="footer muted">Runs entirely in this tab through WebGPU. Models and datasets stay on your disk and in this browser's storage.</footer>
    </div>
  );
}
