/**
 * Worker entry: parses large datasets off the main thread (JSONL is streamed, so a 200 MB file is
 * never held twice). Start it with `startImportWorker()` from import-client.ts.
 */
import { expose } from 'comlink';
import { importWorkerApi } from './import-worker-api.ts';

expose(importWorkerApi);
