/**
 * The ONNX export's own choices on the Export page: which variants to write (f32, f16, q4), whether the adapter is
 * merged or kept as separate MatMul branches, whether a copy stays in this browser for the Try page's onnxruntime-web
 * check, and how to load the folder with transformers.js.
 */
import { transformersJsSnippet } from '../../train/onnx/snippet.ts';
import type { OnnxVariantChoice } from '../../worker/contract-runs.ts';

export interface OnnxChoice {
  variants: OnnxVariantChoice[];
  adapterMode: 'merged' | 'separate';
  /** Keep a copy in this browser for the Try page's onnxruntime-web check. */
  keepCopy: boolean;
}

const VARIANTS: { id: OnnxVariantChoice; label: string; dtype: string }[] = [
  { id: 'q4', label: 'q4: 4-bit weights (MatMulNBits), smallest — onnx/model_q4.onnx', dtype: 'q4' },
  {
    id: 'f16',
    label: 'f16: float16 weights and KV cache (WebGPU with shader-f16) — onnx/model_fp16.onnx',
    dtype: 'fp16',
  },
  { id: 'f32', label: 'f32: full precision, exact — onnx/model.onnx', dtype: 'fp32' },
];

export function OnnxOptions(props: {
  value: OnnxChoice;
  onChange: (v: OnnxChoice) => void;
  disabled: boolean;
  folder: string;
}) {
  const { value, onChange, disabled } = props;
  const toggle = (id: OnnxVariantChoice, on: boolean) =>
    onChange({
      ...value,
      variants: VARIANTS.map((v) => v.id).filter((v) => (v === id ? on : value.variants.includes(v))),
    });
  const dtype = VARIANTS.find((v) => value.variants.includes(v.id))?.dtype ?? 'q4';
  return (
    <div class="field export-onnx" data-testid="export-onnx-options">
      <fieldset>
        <legend>ONNX variants</legend>
        {VARIANTS.map((v) => (
          <label class="choice">
            <input
              type="checkbox"
              checked={value.variants.includes(v.id)}
              disabled={disabled}
              onChange={(e) => toggle(v.id, e.currentTarget.checked)}
              data-testid={`onnx-variant-${v.id}`}
            />
            <span>{v.label}</span>
          </label>
        ))}
      </fieldset>
      <label class="choice">
        <input
          type="checkbox"
          checked={value.adapterMode === 'separate'}
          disabled={disabled}
          onChange={(e) => onChange({ ...value, adapterMode: e.currentTarget.checked ? 'separate' : 'merged' })}
          data-testid="onnx-separate"
        />
        <span>
          Keep the adapter as separate MatMul branches (the base weights go to onnx/*_data unchanged, so one base file
          serves several adapters)
        </span>
      </label>
      <label class="choice">
        <input
          type="checkbox"
          checked={value.keepCopy}
          disabled={disabled}
          onChange={(e) => onChange({ ...value, keepCopy: e.currentTarget.checked })}
          data-testid="onnx-keep-copy"
        />
        <span>
          Keep a copy in this browser, so the <a href="#/try">Try it</a> page can run it with onnxruntime-web next to
          the engine (replaces this run’s earlier copy; takes as much browser storage as the files)
        </span>
      </label>
      {value.variants.length === 0 && <p class="note small">Pick at least one variant.</p>}
      <p class="muted small">Load the exported folder with transformers.js:</p>
      <pre class="snippet" data-testid="onnx-snippet">
        <code>{transformersJsSnippet(props.folder, dtype)}</code>
      </pre>
    </div>
  );
}
