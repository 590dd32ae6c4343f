/** One streamed answer: its title, the text so far (with a caret while it grows), tokens and tokens per second. */
import type { SideState } from './chat-store.ts';

const STATUS: Record<SideState['status'], string> = {
  idle: '',
  waiting: 'Waiting…',
  streaming: 'Generating',
  done: 'Done',
  stopped: 'Stopped',
};

export function AnswerColumn(props: {
  id: 'base' | 'adapter' | 'onnx';
  title: string;
  subtitle: string;
  side: SideState;
  placeholder: string;
  loading: boolean;
  /** What the placeholder says while `loading` (default: the engine loading the model). */
  loadingText?: string;
}) {
  const { side } = props;
  const live = side.status === 'waiting' || side.status === 'streaming';
  return (
    <section
      class={`card answer-card answer-${props.id}`}
      aria-labelledby={`answer-${props.id}-title`}
      aria-busy={live}
      data-testid={`answer-${props.id}`}
      data-status={side.status}
    >
      <div class="answer-head">
        <div class="answer-titles">
          <h2 id={`answer-${props.id}-title`}>{props.title}</h2>
          <p class="muted small answer-subtitle" title={props.subtitle}>
            {props.subtitle}
          </p>
        </div>
        {side.status !== 'idle' && (
          <span class={`badge answer-status status-${side.status}`}>{STATUS[side.status]}</span>
        )}
      </div>
      <div
        class="answer-body"
        tabIndex={0}
        aria-label={`${props.title} answer`}
        data-testid={`answer-${props.id}-text`}
      >
        {side.status === 'idle' ? (
          <p class="muted answer-placeholder">{props.placeholder}</p>
        ) : side.status === 'waiting' && !side.text ? (
          <p class="muted answer-placeholder">
            <span class="spinner" aria-hidden="true" />{' '}
            {props.loading ? (props.loadingText ?? 'Loading the model onto the GPU…') : 'Reading the prompt…'}
          </p>
        ) : (
          <p class="answer-text">
            {side.text}
            {live && <span class="caret" aria-hidden="true" />}
            {!side.text && !live && <span class="muted">(no text: the model stopped at once)</span>}
          </p>
        )}
      </div>
      <dl class="answer-stats" data-testid={`answer-${props.id}-stats`}>
        <div>
          <dt>Tokens</dt>
          <dd data-testid={`answer-${props.id}-tokens`}>{side.tokens}</dd>
        </div>
        <div>
          <dt>Speed</dt>
          <dd>{side.tokensPerSec > 0 ? `${side.tokensPerSec.toFixed(1)} tokens/s` : '—'}</dd>
        </div>
      </dl>
    </section>
  );
}
