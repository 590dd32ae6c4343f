/** The page's connection to the app's IndexedDB database (reopened after another tab upgrades it). */
import { type AppDatabase, openAppDb } from '../storage/db.ts';

let dbPromise: Promise<AppDatabase> | null = null;

export function appDb(): Promise<AppDatabase> {
  dbPromise ??= openAppDb().then(
    (opened) => {
      opened.addEventListener('versionchange', () => (dbPromise = null));
      return opened;
    },
    (err: unknown) => {
      dbPromise = null;
      throw err;
    },
  );
  return dbPromise;
}
