// The browser dashboard's transport: POST /api/call/:name on the agent that served this page
// (the session cookie rides along), and server-sent events from /api/events.
import type { EventName, Events, TallyClient } from '../../../core/api/contract';
import type { ApiReply } from '../../../core/api/reply';

export function httpClient(base = ''): TallyClient {
  let source: EventSource | null = null;
  const open = (): EventSource => (source ??= new EventSource(`${base}/api/events`, { withCredentials: false }));

  return {
    async call(name, args) {
      let res: Response;
      try {
        res = await fetch(`${base}/api/call/${encodeURIComponent(name)}`, {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(args ?? {}),
        });
      } catch {
        return unreachable();
      }
      const body: unknown = await res.json().catch(() => null);
      // The agent's 401 speaks to API clients (Bearer tokens); a browser user needs the link.
      if (res.status === 401) return { ok: false, error: { code: 'unauthorized', message: SIGN_IN } };
      if (isReply(body)) return body as ApiReply<never>;
      return { ok: false, error: { code: 'internal', message: `the agent answered HTTP ${res.status}` } };
    },
    on<E extends EventName>(event: E, listener: (payload: Events[E]) => void) {
      const handler = (e: MessageEvent<string>) => {
        try {
          listener(JSON.parse(e.data) as Events[E]);
        } catch {
          // A malformed event is dropped; the next one refreshes the view anyway.
        }
      };
      const es = open();
      es.addEventListener(event, handler as EventListener);
      return () => es.removeEventListener(event, handler as EventListener);
    },
  };
}

const SIGN_IN =
  'This browser has no session with the agent: open the dashboard address that `tally agent` printed (it carries a one-time token).';

function isReply(body: unknown): body is ApiReply<unknown> {
  return typeof body === 'object' && body !== null && typeof (body as { ok?: unknown }).ok === 'boolean';
}

function unreachable(): ApiReply<never> {
  return { ok: false, error: { code: 'unavailable', message: 'The agent cannot be reached. Is `tally agent` running?' } };
}
