/** Token lengths of the examples (when a tokenizer was chosen): a small inline SVG histogram and the key numbers. */
import type { TokenStats } from '../../schema/dataset.ts';
import { count } from './text.ts';

const W = 600;
const H = 140;
const MIN_BINS = 8;

export function TokenHistogram({ tokens, maxLength }: { tokens: TokenStats; maxLength: number }) {
  const { binWidth, counts: all } = tokens.histogram;
  // The importer's bins span 0..max(maxLength, longest). When every example is far shorter than the
  // maximum, show only the bins up to the data (at least MIN_BINS) so the bars stay readable.
  const last = all.reduce((at, c, i) => (c > 0 ? i : at), 0);
  const counts = all.slice(0, Math.min(all.length, Math.max(MIN_BINS, last + 2)));
  const cropped = counts.length < all.length;
  const peak = Math.max(1, ...counts);
  const barW = W / counts.length;
  const top = binWidth * counts.length;
  const limitX = (maxLength / top) * W;
  return (
    <section aria-labelledby="tokens-title" data-testid="token-histogram">
      <h3 id="tokens-title">Token lengths</h3>
      <dl class="stats compact">
        <div>
          <dt>Median</dt>
          <dd data-testid="tokens-p50" data-value={tokens.p50}>
            {count(tokens.p50)}
          </dd>
        </div>
        <div>
          <dt>95th percentile</dt>
          <dd>{count(tokens.p95)}</dd>
        </div>
        <div>
          <dt>Longest</dt>
          <dd data-testid="tokens-max" data-value={tokens.max}>
            {count(tokens.max)}
          </dd>
        </div>
        <div>
          <dt>Trained tokens</dt>
          <dd data-testid="tokens-trained" data-value={tokens.trainedTokens} data-total={tokens.totalTokens}>
            {count(tokens.trainedTokens)} <span class="muted small">of {count(tokens.totalTokens)}</span>
          </dd>
        </div>
        <div>
          <dt>Over {count(maxLength)}</dt>
          <dd>{count(tokens.overLength)}</dd>
        </div>
      </dl>
      <figure class="histogram">
        <svg
          viewBox={`0 0 ${W} ${H + 4}`}
          preserveAspectRatio="none"
          role="img"
          aria-label={`Histogram of ${count(tokens.records)} example lengths, ${counts.length} bins of ${count(binWidth)} tokens`}
        >
          {counts.map((c, i) => {
            const h = c === 0 ? 0 : Math.max(2, (c / peak) * H);
            const over = (i + 1) * binWidth > maxLength;
            return (
              <rect x={i * barW + 1} y={H - h} width={barW - 2} height={h} rx={2} class={over ? 'bar-over' : 'bar-in'}>
                <title>
                  {count(i * binWidth)}–{count((i + 1) * binWidth - 1)} tokens: {count(c)} examples
                </title>
              </rect>
            );
          })}
          {limitX <= W && <line x1={limitX} x2={limitX} y1={0} y2={H} class="limit" />}
          <line x1={0} x2={W} y1={H + 1} y2={H + 1} class="axis" />
        </svg>
        <figcaption class="axis-labels muted small">
          <span>0</span>
          <span>
            {cropped
              ? `all examples are under the maximum length (${count(maxLength)})`
              : `dashed line: maximum length ${count(maxLength)}`}
          </span>
          <span>{count(top)} tokens</span>
        </figcaption>
      </figure>
    </section>
  );
}
