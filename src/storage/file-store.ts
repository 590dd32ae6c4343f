/**
 * Where downloaded model files live: the Origin Private File System in the browser, a folder in Node.
 * Paths are relative, '/'-separated. Writes append, so an interrupted download keeps what it has.
 */
export interface FileStore {
  /** Size in bytes, or null when the file does not exist. */
  size(path: string): Promise<number | null>;
  /** Appends bytes (creating the file). */
  append(path: string, bytes: Uint8Array): Promise<void>;
  /** Reads `length` bytes at `offset`. */
  read(path: string, offset: number, length: number): Promise<Uint8Array>;
  /** Replaces `to` with `from`. */
  rename(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
  /** Removes a folder and everything under it. */
  removeTree(path: string): Promise<void>;
  readText(path: string): Promise<string | null>;
  writeText(path: string, text: string): Promise<void>;
  /** Names directly under a folder (files and folders), or [] when it does not exist. */
  list(path: string): Promise<string[]>;
}

/** Turns a failed write into a message about storage space when that is the cause. */
export function storageError(err: unknown, what: string): Error {
  const name = (err as { name?: string } | null)?.name;
  if (name === 'QuotaExceededError') {
    return new Error(
      `Not enough storage space for ${what}. Free space by deleting cached models or datasets you no longer need, ` +
        'or allow this site more storage in the browser settings; nothing already stored was lost.',
      { cause: err },
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}
