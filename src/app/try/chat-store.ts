/**
 * The Try-it state at module level: the form's values and both streamed answers survive a visit to another section
 * while the worker keeps generating.
 */
import { proxy } from 'comlink';
import type { ChatEvent, EngineError, ModelRef } from '../../worker/contract.ts';
import { createStore } from '../data/store.ts';
import { engine } from '../engine.ts';

export type SideState = {
  text: string;
  tokens: number;
  tokensPerSec: number;
  status: 'idle' | 'waiting' | 'streaming' | 'done' | 'stopped';
};

export interface ChatForm {
  model: ModelRef | null;
  /** null: the base model only */
  runId: string | null;
  system: string;
  prompt: string;
  maxNewTokens: number;
  temperature: number;
}

export interface ChatState {
  form: ChatForm;
  /** Whether the form was filled from the persisted picks yet. */
  initialized: boolean;
  busy: boolean;
  stopping: boolean;
  error: EngineError | null;
  base: SideState;
  adapter: SideState;
  /** What the shown answers were generated with. */
  shownRunName: string | null;
  startedAt: number | null;
  /** The model the worker holds after the last answer (the next one starts without loading). */
  loadedKey: string | null;
}

export const modelKey = (m: ModelRef | null): string | null => (m ? `${m.repo}@${m.revision}` : null);

const idle: SideState = { text: '', tokens: 0, tokensPerSec: 0, status: 'idle' };

export const chatStore = createStore<ChatState>({
  form: { model: null, runId: null, system: '', prompt: '', maxNewTokens: 128, temperature: 0.7 },
  initialized: false,
  busy: false,
  stopping: false,
  error: null,
  base: idle,
  adapter: idle,
  shownRunName: null,
  startedAt: null,
  loadedKey: null,
});

export function updateForm(patch: Partial<ChatForm>): void {
  chatStore.set((s) => ({ ...s, form: { ...s.form, ...patch } }));
}

export async function generateAnswers(runName: string | null): Promise<void> {
  const { form, busy } = chatStore.get();
  if (busy || !form.model) return;
  const waiting: SideState = { ...idle, status: 'waiting' };
  chatStore.set((s) => ({
    ...s,
    busy: true,
    stopping: false,
    error: null,
    base: waiting,
    adapter: form.runId ? waiting : idle,
    shownRunName: runName,
    startedAt: performance.now(),
  }));
  const onEvent = (e: ChatEvent) => {
    chatStore.set((s) => {
      const status: SideState['status'] = e.done ? (s.stopping ? 'stopped' : 'done') : 'streaming';
      return { ...s, [e.side]: { text: e.text, tokens: e.tokens, tokensPerSec: e.tokensPerSec, status } };
    });
  };
  let error: EngineError | null = null;
  try {
    const r = await engine().chat(
      {
        model: form.model,
        runId: form.runId,
        prompt: form.prompt,
        ...(form.system.trim() ? { system: form.system } : {}),
        maxNewTokens: form.maxNewTokens,
        temperature: form.temperature,
      },
      proxy(onEvent),
    );
    if (!r.ok) error = r.error;
  } catch (err) {
    error = { kind: 'unknown', message: `The engine worker failed: ${String(err)}`, hint: 'Reload the page.' };
  }
  chatStore.set((s) => {
    // A side that never reported `done` (an error, or a stop before its first token) is settled here.
    const settle = (side: SideState): SideState =>
      side.status === 'waiting' || side.status === 'streaming' ? { ...side, status: error ? 'idle' : 'stopped' } : side;
    return {
      ...s,
      busy: false,
      stopping: false,
      error,
      base: settle(s.base),
      adapter: settle(s.adapter),
      loadedKey: error ? s.loadedKey : modelKey(form.model),
    };
  });
}

export function stopAnswers(): void {
  chatStore.set((s) => ({ ...s, stopping: true }));
  void engine().cancelChat();
}
