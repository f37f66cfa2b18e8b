// The window's hardening and the IPC sender checks, without a window.
import { describe, expect, it } from 'vitest';
import { CSP, isAppUrl, isTrustedSender, windowOptions, withCsp } from '../../src/main/security';

describe('windowOptions', () => {
  it('are the hardened ones: isolated, sandboxed, no Node in the page, web security on', () => {
    const prefs = windowOptions('/app/out/preload/preload.cjs').webPreferences!;
    expect(prefs).toMatchObject({
      preload: '/app/out/preload/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
  });
});

describe('CSP', () => {
  it('allows only our own scripts and connections', () => {
    expect(CSP).toContain("script-src 'self'");
    expect(CSP).toContain("connect-src 'self'");
    expect(CSP).toContain("default-src 'self'");
    expect(CSP).not.toMatch(/unsafe-eval|script-src[^;]*unsafe-inline|\*/);
  });

  it('replaces a weaker policy sent with a response', () => {
    const headers = withCsp({ 'content-security-policy': ['default-src *'], 'content-type': ['text/html'] });
    expect(headers['Content-Security-Policy']).toEqual([CSP]);
    expect(headers['content-security-policy']).toBeUndefined();
    expect(headers['content-type']).toEqual(['text/html']);
  });
});

describe('sender and navigation checks', () => {
  const prod = { indexFileUrl: 'file:///opt/Tally/resources/app.asar/out/renderer/index.html' };
  const dev = { devOrigin: 'http://localhost:5173' };

  it('accept our own page, whatever its hash route', () => {
    expect(isAppUrl('file:///opt/Tally/resources/app.asar/out/renderer/index.html', prod)).toBe(true);
    expect(isAppUrl('file:///opt/Tally/resources/app.asar/out/renderer/index.html#/settings', prod)).toBe(true);
    expect(isAppUrl('http://localhost:5173/#/trends', dev)).toBe(true);
  });

  it('refuse other files, other origins, and junk', () => {
    expect(isAppUrl('file:///tmp/evil.html', prod)).toBe(false);
    expect(isAppUrl('https://example.com/', prod)).toBe(false);
    expect(isAppUrl('http://localhost:5174/', dev)).toBe(false);
    expect(isAppUrl('http://localhost.evil.com:5173/', dev)).toBe(false);
    expect(isAppUrl('https://example.com/', {})).toBe(false);
    expect(isAppUrl('not a url', prod)).toBe(false);
    expect(isAppUrl(undefined, prod)).toBe(false);
  });

  it('answer IPC only for the top frame of our page', () => {
    const url = 'file:///opt/Tally/resources/app.asar/out/renderer/index.html';
    expect(isTrustedSender({ url, parent: null }, prod)).toBe(true);
    expect(isTrustedSender({ url, parent: {} }, prod)).toBe(false);
    expect(isTrustedSender({ url: 'https://example.com/', parent: null }, prod)).toBe(false);
    expect(isTrustedSender(null, prod)).toBe(false);
  });
});
