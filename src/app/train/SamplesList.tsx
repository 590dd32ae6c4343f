/** Sample generations at each evaluation, newest first, with whether each answer passed the validator. */
import type { RunMetric } from '../../worker/contract.ts';

export function SamplesList({ metrics }: { metrics: readonly RunMetric[] }) {
  const evals = metrics.filter((m): m is Extract<RunMetric, { kind: 'samples' }> => m.kind === 'samples').reverse();
  if (evals.length === 0) return null;
  return (
    <div class="samples" data-testid="samples">
      <h3>Samples</h3>
      {evals.slice(0, 5).map((e) => (
        <details open={e === evals[0]}>
          <summary>
            Step {e.step}
            {e.validity !== null && (
              <span class={e.validity >= 0.5 ? 'pill ok' : 'pill bad'}>{Math.round(100 * e.validity)}% valid</span>
            )}
          </summary>
          <ul class="sample-list">
            {e.samples.map((s) => (
              <li>
                <div class="sample-prompt">{s.prompt}</div>
                <pre class="sample-output">{s.output || '(empty answer)'}</pre>
                {s.valid !== null && (
                  <div class={s.valid ? 'ok-text' : 'error-text'}>
                    {s.valid ? 'valid' : `invalid: ${s.error ?? ''}`}
                  </div>
                )}
              </li>
            ))}
          </ul>
        </details>
      ))}
    </div>
  );
}
