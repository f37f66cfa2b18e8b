// One client for the whole UI, chosen once at startup: the preload bridge in the desktop app,
// HTTP to the agent in a browser.
import type { TallyClient } from '../../../core/api/contract';
import type { TallyBridge } from '../../../preload/index';
import { httpClient } from './http';
import { ipcClient } from './ipc';

export interface Transport {
  readonly kind: 'ipc' | 'http';
  readonly client: TallyClient;
  /** The desktop bridge, for what only the desktop can do (native save dialogs). */
  readonly bridge: TallyBridge | null;
}

export function pickTransport(w: Window = window): Transport {
  if (w.tally) return { kind: 'ipc', client: ipcClient(w.tally), bridge: w.tally };
  return { kind: 'http', client: httpClient(), bridge: null };
}
