/** Words and numbers of the Data page: format names, counts, dates, sizes, and errors in plain language. */
import { formatBytes } from '../../gpu/info.ts';
import type { MaskMode, OverLength, SourceFormat } from '../../schema/dataset.ts';

export { formatBytes };

export const FORMAT_LABELS: Record<SourceFormat | 'mixed' | 'none', string> = {
  chat: 'Chat messages',
  prompt_completion: 'Prompt / completion',
  alpaca: 'Alpaca (instruction, input, output)',
  text: 'Text rows',
  pairs: 'Field pairs',
  problem_folders: 'Problem folders (NL/IR + ASP)',
  raw_text: 'Raw text files',
  mixed: 'Mixed formats',
  none: 'Nothing readable',
};

export function formatLabel(format: string): string {
  return (FORMAT_LABELS as Record<string, string>)[format] ?? format;
}

export const MASK_LABELS: Record<MaskMode, string> = {
  answers: 'Every assistant answer',
  last: 'Only the last answer',
  all: 'Everything (prompt too)',
};

export const OVER_LENGTH_LABELS: Record<OverLength, string> = {
  drop: 'Leave the example out',
  truncate: 'Cut it to the maximum length',
};

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${count(n)} ${n === 1 ? one : many}`;
}

export function formatDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString('en-GB', {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  });
}

export function formatSeconds(s: number): string {
  return s < 10
    ? `${s.toFixed(1)} s`
    : s < 120
      ? `${Math.round(s)} s`
      : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** A name for a dataset from the chosen paths: the folder, the single file's stem, or the first file's. */
export function suggestName(paths: string[]): string {
  const tops = new Set(paths.map((p) => (p.includes('/') ? p.slice(0, p.indexOf('/')) : '')));
  const [top] = tops;
  if (tops.size === 1 && top) return top;
  const first = paths[0]?.split('/').pop() ?? '';
  const stem = first.replace(/\.[^.]+$/, '');
  return (paths.length === 1 ? stem : `${stem} and ${paths.length - 1} more`) || 'dataset';
}

/** An error from the worker or storage, as a sentence a user can act on. */
export function describeError(err: unknown, doing: string): { message: string; quota: boolean } {
  const name = (err as { name?: unknown } | null)?.name;
  const raw =
    err instanceof Error
      ? err.message
      : typeof err === 'object' && err && 'message' in err
        ? String(err.message)
        : String(err);
  if (name === 'StorageQuotaError' || name === 'QuotaExceededError' || /quota/i.test(raw)) {
    return {
      quota: true,
      message: /Not enough browser storage/.test(raw)
        ? raw
        : `The browser's storage for this site is full, so ${doing} did not finish. Delete datasets you no longer need below, then try again.`,
    };
  }
  if (name === 'NotReadableError' || name === 'NotFoundError') {
    return {
      quota: false,
      message: `A file could not be read while ${doing}: it may have been moved, deleted or changed since you chose it. Choose the files again.`,
    };
  }
  if (name === 'InvalidStateError' && /database|indexeddb|transaction/i.test(raw)) {
    return {
      quota: false,
      message: `The browser's database was closed while ${doing} (another tab may have upgraded it). Reload the page and try again.`,
    };
  }
  return { quota: false, message: `Something went wrong while ${doing}: ${raw}` };
}
