// React access to the one client: a context, a hook that loads a call and keeps it fresh when
// the agent announces new data, and a hook for events.
import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import type { EventName, Events, HandlerArgs, HandlerName, HandlerResult } from '../../core/api/contract';
import type { ApiError, ApiReply } from '../../core/api/reply';
import type { Transport } from './transport/index';

const TransportContext = createContext<Transport | null>(null);

export function TransportProvider({ transport, children }: { transport: Transport; children: ReactNode }) {
  return <TransportContext.Provider value={transport}>{children}</TransportContext.Provider>;
}

export function useTransport(): Transport {
  const t = useContext(TransportContext);
  if (!t) throw new Error('useTransport outside TransportProvider');
  return t;
}

export type Loadable<T> =
  { readonly status: 'loading' } | { readonly status: 'ok'; readonly data: T } | { readonly status: 'error'; readonly error: ApiError };

/** Events after which every view re-reads what it shows. */
export const DATA_EVENTS: readonly EventName[] = ['records.flushed'];

/**
 * Calls `name` with `args` (null: not yet), and again whenever one of `refreshOn` arrives
 * (coalesced), keeping the previous data on screen while it reloads.
 */
export function useApi<K extends HandlerName>(
  name: K,
  args: HandlerArgs<K> | null,
  refreshOn: readonly EventName[] = DATA_EVENTS,
): [Loadable<HandlerResult<K>>, () => void] {
  const { client } = useTransport();
  const key = args === null ? null : JSON.stringify(args);
  // The state remembers which args it answers: a new period shows loading, not the old figures.
  const [state, setState] = useState<{ key: string | null; value: Loadable<HandlerResult<K>> }>({
    key: null,
    value: { status: 'loading' },
  });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);

  useEffect(() => {
    if (key === null) return;
    let live = true;
    void client.call(name, JSON.parse(key) as HandlerArgs<K>).then((reply: ApiReply<HandlerResult<K>>) => {
      if (!live) return;
      setState({ key, value: reply.ok ? { status: 'ok', data: reply.data } : { status: 'error', error: reply.error } });
    });
    return () => {
      live = false;
    };
  }, [client, name, key, tick]);

  useEvents(refreshOn, reload);
  return [state.key === key ? state.value : { status: 'loading' }, reload];
}

/** Runs `onEvent` (at most every 250 ms) when any of `events` arrives. */
export function useEvents(events: readonly EventName[], onEvent: () => void): void {
  const { client } = useTransport();
  const callback = useRef(onEvent);
  callback.current = onEvent;
  const joined = events.join(',');
  useEffect(() => {
    if (joined === '') return;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const fire = () => {
      timer ??= setTimeout(() => {
        timer = null;
        callback.current();
      }, 250);
    };
    const offs = joined.split(',').map((e) => client.on(e as EventName, fire));
    return () => {
      offs.forEach((off) => off());
      if (timer) clearTimeout(timer);
    };
  }, [client, joined]);
}

export function useEvent<E extends EventName>(event: E, listener: (payload: Events[E]) => void): void {
  const { client } = useTransport();
  const callback = useRef(listener);
  callback.current = listener;
  useEffect(() => client.on(event, (p) => callback.current(p)), [client, event]);
}
