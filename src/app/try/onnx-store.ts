/**
 * The Try page's "Run it with onnxruntime-web" state at module level (it survives a visit to another section): the
 * ONNX exports kept in this browser, whether the check runs with the next Generate, and its streamed answer. The
 * check itself runs in the ONNX worker (src/worker/onnx-check.ts).
 */
import { proxy } from 'comlink';
import type { EngineError, OnnxVariantChoice } from '../../worker/contract.ts';
import type { OnnxBackend, OnnxCheckEvent, OnnxCopyInfo } from '../../worker/contract-onnx.ts';
import { createStore } from '../data/store.ts';
import { onnxWorker } from '../engine.ts';
import type { SideState } from './chat-store.ts';

export interface OnnxState {
  /** null while reading them */
  copies: OnnxCopyInfo[] | null;
  enabled: boolean;
  /** The variant picked; the most precise one exported when null. */
  variant: OnnxVariantChoice | null;
  busy: boolean;
  stopping: boolean;
  side: SideState;
  backend: OnnxBackend | null;
  /** The run whose export the shown answer came from. */
  shownRunId: string | null;
  error: EngineError | null;
}

const idle: SideState = { text: '', tokens: 0, tokensPerSec: 0, status: 'idle' };

export const onnxStore = createStore<OnnxState>({
  copies: null,
  enabled: true,
  variant: null,
  busy: false,
  stopping: false,
  side: idle,
  backend: null,
  shownRunId: null,
  error: null,
});

/** The variant the check runs: the picked one if the copy has it, else the most precise one exported. */
export function checkVariant(copy: OnnxCopyInfo, picked: OnnxVariantChoice | null): OnnxVariantChoice {
  if (picked && copy.variants.includes(picked)) return picked;
  return (['f32', 'f16', 'q4'] as const).find((v) => copy.variants.includes(v)) ?? copy.variants[0]!;
}

export async function refreshCopies(): Promise<void> {
  try {
    const r = await onnxWorker().listCopies();
    onnxStore.set((s) => ({ ...s, copies: r.ok ? r.value : [] }));
  } catch {
    onnxStore.set((s) => ({ ...s, copies: [] }));
  }
}

export function copyOf(runId: string | null): OnnxCopyInfo | null {
  return onnxStore.get().copies?.find((c) => c.runId === runId) ?? null;
}

/** Runs the check for `copy` with the same prompt as the engine's answers; greedy, streaming. */
export async function runOnnxCheck(
  copy: OnnxCopyInfo,
  req: { prompt: string; system: string; maxNewTokens: number },
): Promise<void> {
  if (onnxStore.get().busy) return;
  const variant = checkVariant(copy, onnxStore.get().variant);
  onnxStore.set((s) => ({
    ...s,
    busy: true,
    stopping: false,
    error: null,
    side: { ...idle, status: 'waiting' },
    backend: null,
    shownRunId: copy.runId,
  }));
  const onEvent = (e: OnnxCheckEvent) =>
    onnxStore.set((s) => ({
      ...s,
      backend: e.backend,
      side: {
        text: e.text,
        tokens: e.tokens,
        tokensPerSec: e.tokensPerSec,
        status: e.done ? (s.stopping ? 'stopped' : 'done') : 'streaming',
      },
    }));
  let error: EngineError | null = null;
  try {
    const r = await onnxWorker().check(
      {
        runId: copy.runId,
        variant,
        prompt: req.prompt,
        ...(req.system.trim() ? { system: req.system } : {}),
        maxNewTokens: req.maxNewTokens,
      },
      proxy(onEvent),
    );
    if (!r.ok) error = r.error;
    else onnxStore.set((s) => ({ ...s, backend: r.value }));
  } catch (err) {
    error = { kind: 'unknown', message: `The ONNX worker failed: ${String(err)}`, hint: 'Reload the page.' };
  }
  onnxStore.set((s) => ({
    ...s,
    busy: false,
    stopping: false,
    error,
    side:
      s.side.status === 'waiting' || s.side.status === 'streaming'
        ? { ...s.side, status: error ? 'idle' : 'stopped' }
        : s.side,
  }));
}

export function stopOnnxCheck(): void {
  onnxStore.set((s) => (s.busy ? { ...s, stopping: true } : s));
  void onnxWorker().cancelCheck();
}
