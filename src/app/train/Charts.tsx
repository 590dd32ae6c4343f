/**
 * Live charts of a run, drawn with uPlot: training loss per step with the validation loss at each evaluation, and the
 * learning rate. Each chart keeps one uPlot instance and only swaps its data as points arrive.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { RunMetric } from '../../worker/contract.ts';

type Series = { label: string; stroke: string; points?: boolean; dash?: number[] };

function useUplot(title: string, series: Series[], data: uPlot.AlignedData, yLabel: string, log = false) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const el = host.current!;
    const width = () => Math.max(260, el.clientWidth);
    const opts: uPlot.Options = {
      title,
      width: width(),
      height: 220,
      scales: { x: { time: false }, y: log ? { distr: 3 } : {} },
      axes: [
        { label: 'step', stroke: '#5b6478', grid: { stroke: '#eceef2' } },
        {
          label: yLabel,
          stroke: '#5b6478',
          grid: { stroke: '#eceef2' },
          size: 64,
          values: (_u, vals) =>
            vals.map((v) =>
              v === null
                ? ''
                : Math.abs(v) < 1e-2 && v !== 0
                  ? v.toExponential(1)
                  : Number(v.toPrecision(3)).toString(),
            ),
        },
      ],
      series: [
        { label: 'step' },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.stroke,
          width: 2,
          spanGaps: true,
          ...(s.dash ? { dash: s.dash } : {}),
          points: { show: s.points ?? false, size: 7, fill: s.stroke },
        })),
      ],
      legend: { show: true },
      cursor: { drag: { x: true, y: false } },
    };
    plot.current = new uPlot(opts, data, el);
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: width(), height: 220 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // One instance per chart; data updates below.
    // eslint-disable-next-line react-hooks/exhaustive-deps -- one uPlot instance per chart, made once; the effect below feeds it new data
  }, []);
  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);
  return host;
}

/** Step-aligned columns: x = every step seen; loss and lr where a step point exists, val where an eval exists. */
export function chartData(metrics: readonly RunMetric[]): { loss: uPlot.AlignedData; lr: uPlot.AlignedData } {
  const steps = new Map<number, { loss: number | null; val: number | null; lr: number | null }>();
  const at = (step: number) => {
    let row = steps.get(step);
    if (!row) steps.set(step, (row = { loss: null, val: null, lr: null }));
    return row;
  };
  for (const m of metrics) {
    if (m.kind === 'step') Object.assign(at(m.step), { loss: m.loss, lr: m.lr });
    else if (m.kind === 'eval' && Number.isFinite(m.valLoss)) at(m.step).val = m.valLoss;
  }
  const xs = [...steps.keys()].sort((a, b) => a - b);
  const col = (k: 'loss' | 'val' | 'lr') => xs.map((x) => steps.get(x)![k]);
  return { loss: [xs, col('loss'), col('val')], lr: [xs, col('lr')] };
}

export function RunCharts({ metrics }: { metrics: readonly RunMetric[] }) {
  const data = chartData(metrics);
  const loss = useUplot(
    'Loss',
    [
      { label: 'training', stroke: '#2f6feb' },
      { label: 'validation', stroke: '#d9480f', points: true, dash: [6, 4] },
    ],
    data.loss,
    'loss',
  );
  const lr = useUplot('Learning rate', [{ label: 'lr', stroke: '#1f9d63' }], data.lr, 'lr');
  return (
    <div class="charts">
      <div
        class="chart"
        ref={loss}
        data-testid="loss-chart"
        data-points={String(data.loss[0].length)}
        role="img"
        aria-label={`Loss chart, ${data.loss[0].length} steps`}
      />
      <div class="chart" ref={lr} data-testid="lr-chart" role="img" aria-label="Learning rate chart" />
    </div>
  );
}
