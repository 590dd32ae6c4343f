/** A list or value the UI asked the engine for: still loading, there, or the error to show. */
import type { EngineError } from '../worker/contract.ts';

export type Loaded<T> = { state: 'loading' } | { state: 'ok'; value: T } | { state: 'error'; error: EngineError };
