import { CATALOG } from '../../model/catalog.ts';
import { planMemory } from '../../model/plan.ts';
import { formatBytes, formatCount } from '../format.ts';

/** QLoRA estimate shown for every catalog model: nf4 base, rank 16, 1024 tokens, batch 1, checkpointing. */
const ESTIMATE = { quant: 'nf4', seq: 1024, rank: 16, batch: 1, checkpointing: true } as const;

export function CatalogTable({ onPick }: { onPick: (repo: string) => void }) {
  return (
    <section class="card" aria-labelledby="catalog-title">
      <h2 id="catalog-title">Models known to work</h2>
      <p class="muted">
        GPU memory is the plan for QLoRA with a 4-bit base, rank 16, 1024-token examples and gradient checkpointing.
        Browsers do not report how much memory the GPU has: compare with your card (integrated GPUs share system
        memory).
      </p>
      <div class="table-scroll">
        <table class="data-table reflow">
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col">Parameters</th>
              <th scope="col">Download</th>
              <th scope="col">GPU memory</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {CATALOG.map((m) => (
              <tr>
                <td>
                  <strong>{m.repo.split('/')[1]}</strong> <span class="muted">{m.repo.split('/')[0]}</span>
                  {m.gated && (
                    <span class="badge off" title="Accept the license on the model's Hub page first">
                      gated
                    </span>
                  )}
                </td>
                <td class="nowrap" data-label="Parameters">
                  {formatCount(m.parameters)}
                </td>
                <td class="nowrap" data-label="Download">
                  {formatBytes(m.downloadBytes)}
                </td>
                <td class="nowrap" data-label="GPU memory">
                  {formatBytes(planMemory(m.config, ESTIMATE).total_bytes)}
                </td>
                <td>
                  <button type="button" onClick={() => onPick(m.repo)}>
                    Select
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
