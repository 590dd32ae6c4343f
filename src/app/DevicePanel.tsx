import type { DeviceInfo } from '../gpu/info.ts';
import { formatBytes } from '../gpu/info.ts';

/** Limits that decide which models and settings fit, shown first; the rest are behind a disclosure. */
const KEY_LIMITS: { name: string; label: string; bytes?: boolean }[] = [
  { name: 'maxBufferSize', label: 'Largest buffer', bytes: true },
  { name: 'maxStorageBufferBindingSize', label: 'Largest storage binding', bytes: true },
  { name: 'maxComputeWorkgroupStorageSize', label: 'Workgroup memory', bytes: true },
  { name: 'maxComputeInvocationsPerWorkgroup', label: 'Threads per workgroup' },
  { name: 'maxStorageBuffersPerShaderStage', label: 'Storage buffers per shader' },
];

const FEATURE_TEXT: Record<string, string> = {
  'shader-f16': 'half-precision shaders',
  subgroups: 'subgroup operations',
  'timestamp-query': 'GPU timers',
};

function adapterName(info: DeviceInfo): string {
  const a = info.adapter;
  return a.description || [a.vendor, a.architecture, a.device].filter(Boolean).join(' ') || 'Unnamed GPU adapter';
}

export function DevicePanel({ info }: { info: DeviceInfo }) {
  const { adapter } = info;
  return (
    <section class="card" data-testid="gpu-ready" aria-labelledby="gpu-title">
      <div class="card-head">
        <span class="dot ok" aria-hidden="true" />
        <h2 id="gpu-title">GPU ready</h2>
      </div>
      <dl class="facts">
        <dt>Adapter</dt>
        <dd data-testid="gpu-adapter">{adapterName(info)}</dd>
        <dt>Vendor</dt>
        <dd data-testid="gpu-vendor">{adapter.vendor || '—'}</dd>
        <dt>Architecture</dt>
        <dd data-testid="gpu-architecture">{adapter.architecture || '—'}</dd>
        <dt>Runs in</dt>
        <dd>{info.runtime === 'browser-worker' ? 'a dedicated worker (the page stays responsive)' : info.runtime}</dd>
      </dl>
      {adapter.isFallbackAdapter && (
        <p class="note" role="note">
          This is a software (CPU) adapter: everything works, but training will be slow. On a machine with a GPU, make
          sure hardware acceleration is on.
        </p>
      )}
      <h3>Features</h3>
      <ul class="badges" data-testid="gpu-features">
        {Object.entries(info.features).map(([name, on]) => (
          <li class={on ? 'badge on' : 'badge off'} title={FEATURE_TEXT[name]}>
            {on ? '✓' : '✗'} {name}
          </li>
        ))}
      </ul>
      <h3>Limits</h3>
      <table class="limits">
        <tbody>
          {KEY_LIMITS.filter((l) => l.name in info.limits).map((l) => (
            <tr>
              <th scope="row">{l.label}</th>
              <td>{l.bytes ? formatBytes(info.limits[l.name]!) : info.limits[l.name]!.toLocaleString('en-US')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <details>
        <summary>All {Object.keys(info.limits).length} limits</summary>
        <table class="limits all">
          <tbody>
            {Object.entries(info.limits).map(([k, v]) => (
              <tr>
                <th scope="row">{k}</th>
                <td>{v.toLocaleString('en-US')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </section>
  );
}
