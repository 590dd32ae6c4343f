/**
 * Every problem the import found, with file, line and reason, in a scrolling box. The worker sends
 * the first SUMMARY_PROBLEMS; the heading always gives the full count. A summary per file comes first.
 */
import type { Problem } from '../../schema/dataset.ts';
import { count, plural } from './text.ts';

const PER_FILE_SHOWN = 8;

const sentence = (reason: string) => reason.charAt(0).toUpperCase() + reason.slice(1);

export function ProblemList({ problems, total }: { problems: Problem[]; total: number }) {
  if (total === 0) return null;
  const perFile = new Map<string, number>();
  for (const p of problems) perFile.set(p.file, (perFile.get(p.file) ?? 0) + 1);
  const files = [...perFile.entries()].sort((a, b) => b[1] - a[1]);
  // Paths share the dropped folder's name: leave it out of the per-file badges.
  const tops = new Set(problems.map((p) => p.file.split('/')[0]));
  const short = (file: string) => (tops.size === 1 && file.includes('/') ? file.slice(file.indexOf('/') + 1) : file);
  return (
    <section class="problems" aria-labelledby="problems-title" data-testid="problems">
      <h3 id="problems-title">
        {plural(total, 'problem')}{' '}
        {files.length > 1 && (
          <span class="muted">
            in {plural(files.length, 'file')}
            {problems.length < total ? ' (of those listed)' : ''}
          </span>
        )}
      </h3>
      <p class="muted small">
        Lines with problems were left out; every other row was imported. Fix these lines in the files and import again
        to include them.
      </p>
      {files.length > 1 && (
        <ul class="badges problem-files" aria-label="Problems per file">
          {files.slice(0, PER_FILE_SHOWN).map(([file, n]) => (
            <li class="badge warn">
              {short(file)} · {count(n)}
            </li>
          ))}
          {files.length > PER_FILE_SHOWN && (
            <li class="badge off">+{count(files.length - PER_FILE_SHOWN)} more files</li>
          )}
        </ul>
      )}
      <div class="scroll-box" tabIndex={0} aria-label="Problem list">
        <table class="problem-table">
          <thead>
            <tr>
              <th scope="col">File</th>
              <th scope="col">Line</th>
              <th scope="col">What is wrong</th>
            </tr>
          </thead>
          <tbody>
            {problems.map((p) => (
              <tr data-testid="problem" data-file={p.file} data-line={p.line ?? ''} data-code={p.code}>
                <td class="mono path" data-label="File">
                  {p.file}
                </td>
                <td class="num" data-label="Line">
                  {p.line === null ? <span class="muted">whole file</span> : `line ${p.line}`}
                </td>
                <td data-label="Problem">{sentence(p.reason)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {problems.length < total && (
        <p class="muted small" data-testid="problems-capped">
          Showing the first {count(problems.length)} of {count(total)} problems. Fix these and import again to see the
          rest.
        </p>
      )}
    </section>
  );
}
