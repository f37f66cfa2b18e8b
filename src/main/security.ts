// The window's hardening, kept as plain data and pure checks so tests can hold them to it
// without opening a window.
import type { BrowserWindowConstructorOptions } from 'electron';

export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

export function windowOptions(preloadPath: string): BrowserWindowConstructorOptions {
  return {
    width: 1280,
    height: 840,
    minWidth: 720,
    minHeight: 520,
    show: false,
    title: 'Tally',
    autoHideMenuBar: true,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      spellcheck: false,
    },
  };
}

/** Where the window's pages come from: the built renderer folder, or the dev server in development. */
export interface AppOrigin {
  /** file:// URL of out/renderer/index.html (production). */
  readonly indexFileUrl?: string;
  /** http://localhost:5173 style origin of the dev server (development only). */
  readonly devOrigin?: string;
}

/** Whether a URL is one of our own pages (IPC senders, navigation targets). */
export function isAppUrl(url: string | undefined | null, origin: AppOrigin): boolean {
  if (!url) return false;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (origin.indexFileUrl) {
    const index = new URL(origin.indexFileUrl);
    // The same file, whatever the hash route (#/trends) or query.
    if (parsed.protocol === 'file:' && index.protocol === 'file:' && parsed.pathname === index.pathname) return true;
  }
  if (origin.devOrigin) {
    const dev = new URL(origin.devOrigin);
    if (parsed.origin === dev.origin && (parsed.hostname === 'localhost' || parsed.hostname === '127.0.0.1')) return true;
  }
  return false;
}

/** IPC is answered only for the top frame of our own page: not for subframes or foreign pages. */
export function isTrustedSender(
  sender: { readonly url: string | undefined | null; readonly parent: unknown } | null | undefined,
  origin: AppOrigin,
): boolean {
  return !!sender && sender.parent === null && isAppUrl(sender.url, origin);
}

/** Headers with our CSP added (the agent's own pages already carry one; file pages get this). */
export function withCsp(headers: Record<string, string[]> | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(headers ?? {})) if (k.toLowerCase() !== 'content-security-policy') out[k] = v;
  out['Content-Security-Policy'] = [CSP];
  return out;
}
