/**
 * Which Hub servers the web app may talk to. The list is fixed when the app is built (`HUB_ORIGINS`, comma-separated,
 * default https://huggingface.co; see vite.config.ts) and goes into the app's Content-Security-Policy as its only
 * `connect-src` origins besides the app's own, so a page or a worker cannot reach any other server even if the code
 * tried; the Hub address field refuses an address outside the list with a message saying how to add one.
 * Each origin is https, except a loopback server (http://127.0.0.1:PORT, http://localhost:PORT, http://[::1]:PORT)
 * for a mirror on the same machine and the tests' local Hub. huggingface.co answers file downloads with redirects
 * to its CDN hosts, so those come with it.
 */

export const DEFAULT_HUB_ORIGIN = 'https://huggingface.co';

/** Set by vite.config.ts (`define`) from HUB_ORIGINS; absent outside a Vite build (then the default). */
declare const __HUB_ORIGINS__: string[] | undefined;

/** The Hub origins this build of the app may connect to (the same list as its Content-Security-Policy). */
export const BUILD_HUB_ORIGINS: readonly string[] =
  typeof __HUB_ORIGINS__ !== 'undefined' ? __HUB_ORIGINS__ : [DEFAULT_HUB_ORIGIN];

/** Where huggingface.co redirects LFS / Xet file downloads (cdn-lfs*.hf.co, cas-bridge.xethub.hf.co, …). */
const HUB_CDN: Record<string, string[]> = {
  'https://huggingface.co': ['https://*.huggingface.co', 'https://*.hf.co'],
};

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** A refused Hub origin or address: the message says what to do. */
export class HubOriginError extends Error {
  override name = 'HubOriginError';
}

/** The origin of `text` (scheme://host[:port]) when it is an allowed kind of Hub origin; otherwise throws. */
export function hubOrigin(text: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new HubOriginError(`"${text}" is not a web address; write it as https://host, e.g. ${DEFAULT_HUB_ORIGIN}.`);
  }
  if (url.username || url.password)
    throw new HubOriginError(`"${text}": a Hub address must not hold a user name or password.`);
  const loopback = LOOPBACK.has(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
    throw new HubOriginError(
      `"${text}" is not https: the app talks to a Hub over https only (plain http only to a server on this machine, 127.0.0.1 or localhost).`,
    );
  return url.origin;
}

/** The build's list of Hub origins from `HUB_ORIGINS` (comma- or space-separated); each checked by hubOrigin. */
export function parseHubOrigins(text: string | undefined): string[] {
  const list = (text ?? '')
    .split(/[\s,]+/)
    .filter((s) => s !== '')
    .map(hubOrigin);
  return [...new Set(list.length > 0 ? list : [DEFAULT_HUB_ORIGIN])];
}

/** The `connect-src` sources for these Hub origins: each one and the CDN hosts it redirects downloads to. */
export function hubConnectSources(origins: readonly string[]): string[] {
  return [...new Set(origins.flatMap((o) => [o, ...(HUB_CDN[o] ?? [])]))];
}

/**
 * Checks a Hub address typed by the user against the build's origins; returns it without trailing slashes.
 * Refused: a malformed address, plain http to another machine, or a host this build does not allow.
 */
export function checkHubAddress(address: string, allowed: readonly string[]): string {
  const origin = hubOrigin(address);
  if (!allowed.includes(origin))
    throw new HubOriginError(
      `${origin} is not a Hub this app may connect to (allowed: ${allowed.join(', ')}). ` +
        'To use a mirror, add its origin to HUB_ORIGINS when building the app (e.g. HUB_ORIGINS=https://huggingface.co,https://mirror.example npm run build): it goes into the Content-Security-Policy.',
    );
  return address.trim().replace(/\/+$/, '');
}
