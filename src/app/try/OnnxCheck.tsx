/**
 * "Run it with onnxruntime-web" on the Try page: the choice (in the form) to answer the same prompt with the run's
 * ONNX export in onnxruntime-web too, and the column its answer streams into, saying which execution provider ran
 * and whether the deployed model said the same as the engine.
 */
import type { OnnxVariantChoice } from '../../worker/contract.ts';
import type { OnnxCopyInfo } from '../../worker/contract-onnx.ts';
import { useStore } from '../data/store.ts';
import { AnswerColumn } from './AnswerColumn.tsx';
import type { SideState } from './chat-store.ts';
import { checkVariant, onnxStore } from './onnx-store.ts';

const VARIANT_LABEL: Record<OnnxVariantChoice, string> = {
  f32: 'f32 — onnx/model.onnx',
  f16: 'f16 — onnx/model_fp16.onnx',
  q4: 'q4 — onnx/model_q4.onnx',
};

export function OnnxCheckOptions(props: { runId: string | null; disabled: boolean }) {
  const state = useStore(onnxStore);
  if (!props.runId) return null;
  if (state.copies === null) return <p class="muted small">Looking for an ONNX export of this run…</p>;
  const copy = state.copies.find((c) => c.runId === props.runId) ?? null;
  if (!copy)
    return (
      <p class="muted small" data-testid="try-onnx-none">
        To see the model you deploy answer too, <a href="#/export">export this run as ONNX</a>: the Try page then runs
        that export with onnxruntime-web next to the engine.
      </p>
    );
  const variant = checkVariant(copy, state.variant);
  return (
    <fieldset class="try-onnx" data-testid="try-onnx-options" disabled={props.disabled}>
      <legend>Run it with onnxruntime-web</legend>
      <label class="choice">
        <input
          type="checkbox"
          checked={state.enabled}
          onChange={(e) => onnxStore.set((s) => ({ ...s, enabled: e.currentTarget.checked }))}
          data-testid="try-onnx"
        />
        <span>
          Also answer with the ONNX export (step {copy.step}, {copy.which}) in onnxruntime-web — WebGPU where this
          browser has it, else WASM; always greedy
        </span>
      </label>
      {copy.variants.length > 1 && (
        <div class="field">
          <label for="try-onnx-variant">ONNX file</label>
          <select
            id="try-onnx-variant"
            value={variant}
            disabled={!state.enabled}
            onChange={(e) => onnxStore.set((s) => ({ ...s, variant: e.currentTarget.value as OnnxVariantChoice }))}
          >
            {copy.variants.map((v) => (
              <option value={v}>{VARIANT_LABEL[v]}</option>
            ))}
          </select>
        </div>
      )}
    </fieldset>
  );
}

const EP_LABEL = { webgpu: 'WebGPU', wasm: 'WASM' } as const;

/** The verdict once both answers are in: the deployed model against the engine with the same adapter. */
function verdict(onnx: SideState, engine: SideState, temperature: number): string | null {
  if (onnx.status !== 'done' || engine.status !== 'done') return null;
  if (onnx.text === engine.text) return 'Same answer as the engine with the adapter.';
  return temperature > 0
    ? 'Differs from the engine’s answer, which was sampled (temperature above 0): set the temperature to 0 to compare them token for token.'
    : 'Differs from the engine’s answer (a q4 or f16 file rounds the weights; f32 should say the same).';
}

export function OnnxAnswerColumn(props: { copy: OnnxCopyInfo | null; engine: SideState; temperature: number }) {
  const state = useStore(onnxStore);
  const b = state.backend;
  const subtitle = b
    ? `${EP_LABEL[b.ep]} · ${b.file}${b.fallbackReason ? ` (not WebGPU: ${b.fallbackReason})` : ''}`
    : props.copy
      ? `${props.copy.runName} · step ${props.copy.step}`
      : '';
  const v = verdict(state.side, props.engine, props.temperature);
  return (
    <div class="try-onnx-answer" data-testid="onnx-column" data-ep={b?.ep ?? ''}>
      <AnswerColumn
        id="onnx"
        title="onnxruntime-web"
        subtitle={subtitle}
        side={state.side}
        loading={state.side.status === 'waiting' && !b}
        loadingText="Loading the ONNX model into onnxruntime-web…"
        placeholder="The ONNX export’s answer appears here."
      />
      {v && (
        <p
          class={state.side.text === props.engine.text ? 'ok-text small' : 'note small'}
          role="status"
          data-testid="onnx-verdict"
        >
          {v}
        </p>
      )}
      {state.error && (
        <p class="error" role="alert" data-testid="onnx-error">
          {state.error.message} <span class="muted">{state.error.hint}</span>
        </p>
      )}
    </div>
  );
}
