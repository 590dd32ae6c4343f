/** The Hub address field's rules and the Content-Security-Policy built from the same list of Hub origins. */
import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy } from '../../../src/app/csp.ts';
import { checkHubAddress, hubConnectSources, parseHubOrigins } from '../../../src/model/hub-origins.ts';

const allowed = parseHubOrigins('https://huggingface.co, http://127.0.0.1:8123');

describe('Hub addresses', () => {
  it('accepts the build’s origins, with or without a trailing slash or path', () => {
    expect(checkHubAddress('https://huggingface.co', allowed)).toBe('https://huggingface.co');
    expect(checkHubAddress(' https://huggingface.co/ ', allowed)).toBe('https://huggingface.co');
    expect(checkHubAddress('http://127.0.0.1:8123', allowed)).toBe('http://127.0.0.1:8123');
  });

  it('refuses plain http to another machine, other hosts and ports, credentials and non-web addresses', () => {
    const refused: [string, RegExp][] = [
      ['http://huggingface.co', /not https/],
      ['http://192.168.1.5:8080', /not https/],
      ['https://evil.example', /not a Hub this app may connect to .*HUB_ORIGINS/],
      ['https://huggingface.co.evil.example', /not a Hub this app may connect to/],
      ['https://huggingface.co:8443', /not a Hub this app may connect to/],
      ['http://127.0.0.1:9999', /not a Hub this app may connect to/],
      ['https://user:pw@huggingface.co', /user name or password/],
      ['ftp://huggingface.co', /not https/],
      ['javascript:alert(1)', /not https/],
      ['huggingface.co', /not a web address/],
    ];
    for (const [address, message] of refused) expect(() => checkHubAddress(address, allowed), address).toThrow(message);
  });

  it('HUB_ORIGINS at build time: https or loopback http only; huggingface.co by default', () => {
    expect(parseHubOrigins(undefined)).toEqual(['https://huggingface.co']);
    expect(parseHubOrigins('https://hf-mirror.com/ https://huggingface.co')).toEqual([
      'https://hf-mirror.com',
      'https://huggingface.co',
    ]);
    expect(() => parseHubOrigins('http://mirror.example')).toThrow(/not https/);
    expect(parseHubOrigins('http://localhost:3000')).toEqual(['http://localhost:3000']);
  });
});

describe('Content-Security-Policy', () => {
  it("connects only to 'self' and the Hub (with huggingface.co's download CDN), no inline script", () => {
    const policy = contentSecurityPolicy(allowed);
    const directives = new Map(
      policy.split('; ').map((d) => {
        const [name, ...sources] = d.split(' ');
        return [name!, sources];
      }),
    );
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('connect-src')).toEqual(["'self'", ...hubConnectSources(allowed)]);
    expect(hubConnectSources(allowed)).toEqual([
      'https://huggingface.co',
      'https://*.huggingface.co',
      'https://*.hf.co',
      'http://127.0.0.1:8123',
    ]);
    expect(directives.get('script-src')).toEqual(["'self'", "'wasm-unsafe-eval'"]);
    for (const sources of directives.values()) {
      expect(sources).not.toContain("'unsafe-inline'");
      expect(sources).not.toContain('*');
      expect(sources.filter((s) => s.startsWith('http:') && !s.startsWith('http://127.0.0.1'))).toEqual([]);
    }
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(contentSecurityPolicy(allowed, false)).not.toMatch(/frame-ancestors/);
  });
});
