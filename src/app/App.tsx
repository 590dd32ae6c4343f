import { useEffect, useState } from 'preact/hooks';
import { engine } from './engine.ts';
import { DataPage } from './data/DataPage.tsx';
import { type DevicePhase, GpuPage } from './GpuPage.tsx';
import { ExportPage } from './export/ExportPage.tsx';
import { ModelPage } from './model/ModelPage.tsx';
import { useStore } from './data/store.ts';
import { bootTraining, trainStore } from './train/run-store.ts';
import { TrainPage } from './train/TrainPage.tsx';
import { TryPage } from './try/TryPage.tsx';
import { type SectionId, SECTIONS, useSection } from './sections.ts';

/** Starts the engine worker once and asks it for the GPU. */
function useDevice(): DevicePhase {
  const [phase, setPhase] = useState<DevicePhase>({ state: 'starting' });
  useEffect(() => {
    let cancelled = false;
    let api: ReturnType<typeof engine>;
    try {
      api = engine();
    } catch (err) {
      setPhase({
        state: 'done',
        status: {
          ok: false,
          error: {
            kind: 'unknown',
            message: `The engine worker could not start: ${(err as Error).message}`,
            hint: 'Use a browser that supports module workers (any current Chrome, Edge, Firefox or Safari).',
          },
        },
      });
      return;
    }
    api.deviceInfo().then(
      (status) => !cancelled && setPhase({ state: 'done', status }),
      (err: unknown) =>
        !cancelled &&
        setPhase({
          state: 'done',
          status: {
            ok: false,
            error: { kind: 'unknown', message: `The engine worker failed: ${String(err)}`, hint: 'Reload the page.' },
          },
        }),
    );
    return () => {
      cancelled = true;
    };
  }, []);
  return phase;
}

function GpuBadge({ phase }: { phase: DevicePhase }) {
  const text =
    phase.state === 'starting'
      ? 'Looking for GPU…'
      : phase.status.ok
        ? phase.status.info.adapter.description || phase.status.info.adapter.architecture || 'GPU ready'
        : 'No GPU';
  const cls = phase.state === 'starting' ? 'gpu-badge' : phase.status.ok ? 'gpu-badge ok' : 'gpu-badge bad';
  return (
    <a class={cls} href="#/gpu" data-testid="gpu-badge">
      <span class="dot" aria-hidden="true" /> {text}
    </a>
  );
}

/** The run this tab is training, on every page: its step and state, a link to its Train page. */
function LiveRunBadge() {
  const s = useStore(trainStore);
  const run = s.runs.find((r) => r.id === s.activeId);
  if (!s.activeId) return null;
  const what = s.phase === 'paused' ? 'Paused' : s.phase === 'stopping' ? 'Stopping' : 'Training';
  return (
    <a class="gpu-badge live" href="#/train" data-testid="live-run-badge" aria-live="polite">
      <span class="dot" aria-hidden="true" /> {what}
      {run ? ` · step ${s.liveStep ?? run.step}/${run.totalSteps}` : ''}
    </a>
  );
}

/**
 * The first thing Tab reaches: moves focus past the header to the page's content. The URL hash names the page, so
 * the link moves focus itself instead of following #main.
 */
function SkipLink() {
  return (
    <a
      class="skip-link"
      href="#main"
      onClick={(e) => {
        e.preventDefault();
        document.getElementById('main')?.focus();
      }}
    >
      Skip to content
    </a>
  );
}

export function App() {
  const phase = useDevice();
  const [section] = useSection();
  const title = SECTIONS.find((s) => s.id === section)!.title;
  useEffect(() => {
    document.title = `${title} · LoRA Studio`;
  }, [title]);
  // A run that a reload interrupted resumes wherever the page opens.
  const gpuReady = phase.state === 'done' && phase.status.ok;
  useEffect(() => {
    if (gpuReady) void bootTraining();
  }, [gpuReady]);
  const pages: Record<SectionId, preact.JSX.Element> = {
    gpu: <GpuPage phase={phase} />,
    model: <ModelPage />,
    data: <DataPage />,
    train: <TrainPage />,
    try: <TryPage />,
    export: <ExportPage />,
  };
  return (
    <div class="shell">
      <SkipLink />
      <header class="topbar">
        <div class="brand">
          <img src="/favicon.svg" alt="" width={28} height={28} />
          <span class="brand-name">LoRA Studio</span>
        </div>
        <nav class="sections" aria-label="Sections">
          {SECTIONS.map((s) => (
            <a
              href={`#/${s.id}`}
              class={s.id === section ? 'section current' : 'section'}
              aria-current={s.id === section ? 'page' : undefined}
            >
              {s.label}
            </a>
          ))}
        </nav>
        <LiveRunBadge />
        <GpuBadge phase={phase} />
      </header>
      <main id="main" class="content" tabIndex={-1}>
        <h1 class="page-title">{title}</h1>
        {pages[section]}
      </main>
      <footer class="footer muted">
        Runs entirely in this tab through WebGPU. Models and datasets stay on your disk and in this browser's storage.
      </footer>
    </div>
  );
}
