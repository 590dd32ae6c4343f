/** Worker entry of the Data page: importing, saving and exporting datasets (see worker-api.ts). */
// First: zod must be jitless before any schema is built (CSP without eval).
import '../../schema/jitless.ts';
import { expose } from 'comlink';
import { dataWorkerApi } from './worker-api.ts';

expose(dataWorkerApi);
