/** The one engine worker of the page, started on first use and shared by every section. */
import { type EngineClient, startEngine } from '../worker/client.ts';

let client: EngineClient | undefined;

export function engine(): EngineClient['api'] {
  client ??= startEngine();
  return client.api;
}
