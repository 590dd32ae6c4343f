/**
 * What the user picked, kept in IndexedDB (`settings`) so a reload returns to it: the model, the dataset and the run
 * in view. Each value is a module-level store shared by every section.
 */
import { useEffect } from 'preact/hooks';
import type { ModelRef } from '../worker/contract-runs.ts';
import { appDb } from './app-db.ts';
import { type Store, createStore, useStore } from './data/store.ts';

export interface Persisted<T> {
  store: Store<T>;
  /** True once the stored value was read (or found missing). */
  loaded: Store<boolean>;
  set(value: T): void;
}

export function persisted<T>(key: string, initial: T): Persisted<T> {
  const store = createStore<T>(initial);
  const loaded = createStore(false);
  let started = false;
  const load = () => {
    if (started) return;
    started = true;
    appDb()
      .then((db) => db.get('settings', key))
      .then(
        (row) => {
          if (row) store.set(row.value as T);
          loaded.set(true);
        },
        () => loaded.set(true),
      );
  };
  return {
    store: {
      ...store,
      get: () => (load(), store.get()),
      subscribe: (fn) => (load(), store.subscribe(fn)),
    },
    loaded,
    set(value) {
      store.set(value);
      void appDb().then((db) => db.put('settings', { key, value }));
    },
  };
}

export const selectedModel = persisted<ModelRef | null>('selectedModel', null);
export const selectedDataset = persisted<string | null>('selectedDataset', null);
export const selectedRun = persisted<string | null>('selectedRun', null);

/** [value, set, loaded] of a persisted setting. */
export function usePersisted<T>(p: Persisted<T>): [T, (value: T) => void, boolean] {
  const value = useStore(p.store);
  const loaded = useStore(p.loaded);
  useEffect(() => void p.store.get(), [p]);
  return [value, p.set, loaded];
}

/** The stored value, once it has been read from IndexedDB. */
export function persistedValue<T>(p: Persisted<T>): Promise<T> {
  p.store.get();
  if (p.loaded.get()) return Promise.resolve(p.store.get());
  return new Promise((resolve) => {
    const off = p.loaded.subscribe((ok) => {
      if (!ok) return;
      off();
      resolve(p.store.get());
    });
  });
}
