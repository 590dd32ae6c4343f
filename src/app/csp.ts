/**
 * The web app's Content-Security-Policy. Scripts, styles, workers and WebAssembly come only from the app's own
 * origin (no inline script: no <script> text, no event-handler attributes, no javascript: URLs), and the only servers
 * it may connect to are its own origin and the build's Hub origins over https (src/model/hub-origins.ts).
 * 'wasm-unsafe-eval' lets the validators' and onnxruntime-web's WebAssembly compile; no script may turn a string
 * into code ('unsafe-eval' is absent): the JSON-schema validator interprets schemas (src/validate/json.ts) and zod
 * runs jitless (src/schema/jitless.ts, imported first by the page and every worker). Sent by `vite preview` as a header (which also covers the workers: a <meta> policy
 * does not reach a worker) and written into the built index.html as a <meta> tag for hosts that cannot set headers.
 */
import { hubConnectSources } from '../model/hub-origins.ts';

/** The policy's directives; `header` adds those a <meta> tag may not carry (frame-ancestors). */
export function contentSecurityPolicy(hubOrigins: readonly string[], header = true): string {
  const directives: [string, ...string[]][] = [
    ['default-src', "'none'"],
    ['script-src', "'self'", "'wasm-unsafe-eval'"],
    ['worker-src', "'self'"],
    ['style-src', "'self'"],
    ['img-src', "'self'", 'data:', 'blob:'],
    ['font-src', "'self'"],
    ['manifest-src', "'self'"],
    ['connect-src', "'self'", ...hubConnectSources(hubOrigins)],
    ['base-uri', "'none'"],
    ['form-action', "'none'"],
    ['object-src', "'none'"],
    ...(header ? [['frame-ancestors', "'none'"] as [string, string]] : []),
  ];
  return directives.map((d) => d.join(' ')).join('; ');
}
