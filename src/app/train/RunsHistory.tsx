/** Every run stored in this browser, newest first: open one to see its charts, or delete it with its checkpoints. */
import type { RunInfo } from '../../worker/contract.ts';
import { deleteRun, type TrainState, view } from './run-store.ts';

const fmt = (x: number | null) => (x === null || !Number.isFinite(x) ? '—' : x.toFixed(3));

export function RunsHistory({ state }: { state: TrainState }) {
  if (state.runs.length === 0) return null;
  const remove = (r: RunInfo) => {
    if (
      confirm(
        `${state.activeId === r.id ? 'Stop and delete' : 'Delete'} the run "${r.name}", its checkpoints and the ONNX copy kept for Try it? Exported files on your disk are not touched.`,
      )
    )
      void deleteRun(r.id);
  };
  return (
    <section class="card" aria-labelledby="runs-title" data-testid="runs-history">
      <h2 id="runs-title">Runs</h2>
      <table class="data-table reflow">
        <thead>
          <tr>
            <th scope="col">Run</th>
            <th scope="col">Status</th>
            <th scope="col">Step</th>
            <th scope="col">Loss</th>
            <th scope="col">Best val.</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {state.runs.map((r) => (
            <tr class={r.id === state.viewId ? 'current' : ''} data-testid="run-row">
              <td>
                <strong>{r.name}</strong>
                <div class="muted small">{new Date(r.createdAt).toLocaleString()}</div>
              </td>
              <td data-label="Status">{state.activeId === r.id ? 'training' : r.status}</td>
              <td class="nowrap" data-label="Step">
                {r.step} / {r.totalSteps || '—'}
              </td>
              <td data-label="Loss">{fmt(r.lastLoss)}</td>
              <td data-label="Best val.">{fmt(r.bestValLoss)}</td>
              <td>
                <div class="row-actions">
                  <button
                    type="button"
                    onClick={() => void view(r.id)}
                    disabled={r.id === state.viewId}
                    aria-label={`Show ${r.name}`}
                  >
                    Show
                  </button>
                  <button type="button" class="danger" onClick={() => remove(r)} aria-label={`Delete ${r.name}`}>
                    Delete
                  </button>
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
