// The sandboxed preload: exposes one narrow object as `window.tally`. Every call is checked
// against the list of API names before it crosses; ipcRenderer itself never reaches the page.
import { contextBridge, ipcRenderer } from 'electron';
import type { EventName, Events } from '../core/api/contract';
import { CALL_CHANNEL, EVENT_CHANNEL, SAVE_EXPORT_CHANNEL, isEventName, isHandlerName } from './channels';
import type { TallyBridge } from './index';

type Listener = (payload: unknown) => void;
const listeners = new Map<EventName, Set<Listener>>();

// One IPC listener for all events; the page's callbacks never see the IpcRendererEvent.
ipcRenderer.on(EVENT_CHANNEL, (_event, message: { event?: unknown; payload?: unknown }) => {
  if (!isEventName(message?.event)) return;
  for (const listener of listeners.get(message.event) ?? []) listener(message.payload);
});

const api = {
  call(name, args) {
    if (!isHandlerName(name)) {
      return Promise.resolve({ ok: false, error: { code: 'not_found', message: `no such API call: ${String(name)}` } });
    }
    return ipcRenderer.invoke(CALL_CHANNEL, name, args ?? {});
  },
  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void) {
    if (!isEventName(event) || typeof listener !== 'function') return () => undefined;
    const set = listeners.get(event) ?? new Set<Listener>();
    listeners.set(event, set);
    const wrapped: Listener = (payload) => listener(payload as Events[E]);
    set.add(wrapped);
    return () => {
      set.delete(wrapped);
    };
  },
  saveExport(request) {
    return ipcRenderer.invoke(SAVE_EXPORT_CHANNEL, request);
  },
} satisfies TallyBridge;

contextBridge.exposeInMainWorld('tally', api);
