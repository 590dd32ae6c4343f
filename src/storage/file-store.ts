/**
 * Where downloaded model files live: the Origin Private File System in the browser, a folder in Node.
 * Paths are relative, '/'-separated. Writes append, so an interrupted download keeps what it has.
 */
import { storageFailure } from './quota.ts';

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

/** A failed write of a cached file, as a message about storage space when that is the cause. */
export function storageError(err: unknown, what: string): Error {
  return storageFailure(err, `store ${what}`, 'the files downloaded so far are kept');
}
