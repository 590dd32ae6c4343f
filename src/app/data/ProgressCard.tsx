/** The import while it runs: files, bytes, rows, the phase, elapsed time, and Cancel (stops the worker). */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ImportProgress } from '../../data/import.ts';
import { cancelImport, type Chosen } from './import-store.ts';
import { count, formatBytes, formatSeconds, plural } from './text.ts';

function phaseText(p: ImportProgress | null, chosen: Chosen): string {
  if (!p) return `Starting the import worker for ${plural(chosen.files.length, 'file')}…`;
  if (p.phase === 'read')
    return `${p.file ? `Reading ${p.file}` : 'Reading files'} — ${p.total ? Math.floor((100 * p.done) / p.total) : 100} %`;
  if (p.phase === 'tokenize') return `Counting tokens: ${count(p.done)} of ${plural(p.total, 'record')}`;
  return `Splitting ${plural(p.total, 'record')} into train, validation and test`;
}

export function ProgressCard({
  progress,
  startedAt,
  chosen,
  name,
}: {
  progress: ImportProgress | null;
  startedAt: number;
  chosen: Chosen;
  name: string;
}) {
  const [now, setNow] = useState(performance.now());
  useEffect(() => {
    const t = setInterval(() => setNow(performance.now()), 500);
    return () => clearInterval(t);
  }, []);
  const read = progress?.phase === 'read' ? progress : null;
  const fraction = !progress
    ? 0
    : progress.phase === 'read'
      ? progress.total
        ? progress.done / progress.total
        : 1
      : progress.phase === 'tokenize'
        ? progress.total
          ? progress.done / progress.total
          : 1
        : 1;
  const percent = Math.floor(fraction * 100);
  // The last read-phase numbers stay on screen while tokens are counted and records split.
  const last = useRef({ bytes: 0, rows: 0, files: 0 });
  if (read)
    last.current = {
      bytes: read.done,
      rows: read.rows ?? last.current.rows,
      files: read.filesDone ?? last.current.files,
    };
  const { bytes: bytesDone, rows, files } = last.current;
  return (
    <section class="card progress-card" aria-busy="true" aria-labelledby="progress-title" data-testid="import-progress">
      <div class="card-head">
        <span class="spinner" aria-hidden="true" />
        <h2 id="progress-title">Importing {name || 'dataset'}…</h2>
      </div>
      <div
        class="bar"
        role="progressbar"
        aria-label={progress?.phase === 'tokenize' ? 'Token counting progress' : 'Import progress'}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        data-testid="progress-bar"
      >
        <div class="bar-fill" style={{ width: `${percent}%` }} />
      </div>
      <p class="phase" aria-live="polite" data-testid="progress-phase">
        {phaseText(progress, chosen)}
      </p>
      <dl class="stats compact">
        <div>
          <dt>Files</dt>
          <dd data-testid="progress-files">
            {count(files)} of {count(chosen.files.length)}
          </dd>
        </div>
        <div>
          <dt>Read</dt>
          <dd data-testid="progress-bytes" data-bytes={bytesDone}>
            {formatBytes(bytesDone)} of {formatBytes(chosen.bytes)}
          </dd>
        </div>
        <div>
          <dt>Rows</dt>
          <dd data-testid="progress-rows" data-rows={rows}>
            {count(rows)}
          </dd>
        </div>
        <div>
          <dt>Elapsed</dt>
          <dd>{formatSeconds(Math.max(0, (now - startedAt) / 1000))}</dd>
        </div>
      </dl>
      <div class="actions">
        <button type="button" class="button danger-outline" onClick={cancelImport} data-testid="cancel-import">
          Cancel import
        </button>
        <span class="muted small">The import runs in a background worker; the page stays usable.</span>
      </div>
    </section>
  );
}
