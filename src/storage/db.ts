/**
 * The app's IndexedDB database, opened through `idb`. This is the ONE place that defines object
 * stores and upgrade steps: to add a store (e.g. checkpoints), bump DB_VERSION, add it to AppDB
 * and append a step to UPGRADES. Steps run in order from the stored version to the new one.
 */
import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb';
import type { DatasetMeta, DatasetRecord } from '../schema/dataset.ts';
import type { RunMetric } from '../schema/metrics.ts';
import type { RunInfo } from '../schema/runs.ts';

export const DB_NAME = 'webgpu-lora';

/** One chunk of a dataset's records, keyed by [datasetId, index]. */
export interface RecordChunk {
  datasetId: string;
  index: number;
  records: DatasetRecord[];
}

/** A saved training checkpoint (src/train/checkpoint.ts bytes) of a run, keyed by [runId, step]. */
export interface CheckpointRow {
  runId: string;
  step: number;
  savedAt: string;
  /** The validation loss at this step, when one was measured (to keep the best). */
  valLoss: number | null;
  bytes: Uint8Array;
}

/** One point of a run's history (loss, validation loss, samples), keyed by [runId, seq]. */
export interface RunMetricRow {
  runId: string;
  seq: number;
  metric: RunMetric;
}

/** The app's state that a reload must find again (which model and dataset were picked, the open run). */
export interface SettingRow {
  key: string;
  value: unknown;
}

export interface AppDB extends DBSchema {
  datasets: {
    key: string;
    value: DatasetMeta;
    indexes: { byUpdated: string };
  };
  datasetChunks: {
    key: [string, number];
    value: RecordChunk;
  };
  checkpoints: {
    key: [string, number];
    value: CheckpointRow;
    indexes: { byRun: string };
  };
  runs: {
    key: string;
    value: RunInfo;
    indexes: { byCreated: string };
  };
  runMetrics: {
    key: [string, number];
    value: RunMetricRow;
  };
  settings: {
    key: string;
    value: SettingRow;
  };
}

export type AppDatabase = IDBPDatabase<AppDB>;
type UpgradeTx = IDBPTransaction<AppDB, StoreNames<AppDB>[], 'versionchange'>;

/** UPGRADES[i] upgrades a database from version i to version i + 1. */
const UPGRADES: ((db: AppDatabase, tx: UpgradeTx) => void)[] = [
  (db) => {
    const datasets = db.createObjectStore('datasets', { keyPath: 'id' });
    datasets.createIndex('byUpdated', 'updatedAt');
    db.createObjectStore('datasetChunks', { keyPath: ['datasetId', 'index'] });
  },
  (db) => {
    const checkpoints = db.createObjectStore('checkpoints', { keyPath: ['runId', 'step'] });
    checkpoints.createIndex('byRun', 'runId');
  },
  (db) => {
    const runs = db.createObjectStore('runs', { keyPath: 'id' });
    runs.createIndex('byCreated', 'createdAt');
    db.createObjectStore('runMetrics', { keyPath: ['runId', 'seq'] });
    db.createObjectStore('settings', { keyPath: 'key' });
  },
];

export const DB_VERSION = UPGRADES.length;

/** Opens (and creates or upgrades) the database. `name` is for tests. */
export function openAppDb(name = DB_NAME): Promise<AppDatabase> {
  return openDB<AppDB>(name, DB_VERSION, {
    upgrade(db, oldVersion, _newVersion, tx) {
      for (let v = oldVersion; v < DB_VERSION; v++) UPGRADES[v]!(db, tx);
    },
    blocked() {
      // Another tab holds an older version open; it closes itself below when it sees the change.
    },
  }).then((db) => {
    db.addEventListener('versionchange', () => db.close());
    return db;
  });
}
