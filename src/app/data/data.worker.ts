/** Worker entry of the Data page: importing, saving and exporting datasets (see worker-api.ts). */
import { expose } from 'comlink';
import { dataWorkerApi } from './worker-api.ts';

expose(dataWorkerApi);
