/** A few imported records as the model will see them: each message with its role, or the text. */
import type { DatasetRecord } from '../../schema/dataset.ts';

const SPLIT_LABELS = { train: 'train', valid: 'validation', test: 'test' } as const;

export function RecordPreview({ records }: { records: DatasetRecord[] }) {
  if (records.length === 0) return null;
  return (
    <section aria-labelledby="preview-title" data-testid="preview">
      <h3 id="preview-title">Preview</h3>
      <ol class="records">
        {records.map((r) => (
          <li class="record" data-testid="preview-record">
            <div class="record-head">
              <span class={`badge split-${r.split}`}>{SPLIT_LABELS[r.split]}</span>
              <span class="mono path small">
                {r.source.file} · line {r.source.line}
              </span>
            </div>
            {r.kind === 'chat' ? (
              r.messages.map((m) => (
                <div class={`message role-${m.role}`}>
                  <span class="role" data-testid="preview-role">
                    {m.role}
                  </span>
                  <p class="message-text">{m.content}</p>
                </div>
              ))
            ) : (
              <div class="message role-text">
                <span class="role" data-testid="preview-role">
                  text
                </span>
                <p class="message-text">{r.text}</p>
              </div>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}
