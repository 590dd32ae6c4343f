/** Storage failures as messages a user can act on: a full quota says what was kept and what to free. */

export class StorageQuotaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StorageQuotaError';
  }
}

export function isQuotaError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { name, message } = err as { name?: unknown; message?: unknown };
  return (
    name === 'QuotaExceededError' ||
    name === 'NS_ERROR_DOM_QUOTA_REACHED' ||
    (typeof message === 'string' && /quota/i.test(message))
  );
}

/**
 * `what`: the action that failed ("save the dataset x"); `kept`: what is still stored; `alsoTry`: one more way out
 * for this kind of data.
 */
export function storageFailure(err: unknown, what: string, kept: string, alsoTry = ''): Error {
  if (err instanceof StorageQuotaError) return err;
  if (isQuotaError(err)) {
    return new StorageQuotaError(
      `Not enough browser storage to ${what}. Nothing was changed: ${kept}. ` +
        'Free space by deleting datasets or checkpoints you no longer need (or models cached in this browser), or allow this site more storage ' +
        `(persistent storage in the browser settings)${alsoTry ? `, ${alsoTry}` : ''}.`,
    );
  }
  if (err instanceof Error) return new Error(`Could not ${what}: ${err.message}`, { cause: err });
  return new Error(`Could not ${what}: ${String(err)}`);
}
