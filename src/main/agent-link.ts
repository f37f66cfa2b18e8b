// The main process's line to the agent: typed calls over POST /api/call/:name with the token,
// and the agent's event stream, reconnected with backoff when it drops.
import type { EventName, Events, HandlerArgs, HandlerName, HandlerResult } from '../core/api/contract';
import type { ApiReply } from '../core/api/reply';
import { SseParser } from './sse';

export interface AgentEndpoint {
  readonly url: string;
  readonly token: string;
}

export type EventListener = <E extends EventName>(event: E, payload: Events[E]) => void;

export class AgentLink {
  private readonly listeners = new Set<EventListener>();
  private readonly connectListeners = new Set<() => void>();
  private abort: AbortController | null = null;
  private closed = false;

  constructor(private readonly endpoint: AgentEndpoint) {}

  get url(): string {
    return this.endpoint.url;
  }

  async call<K extends HandlerName>(name: K, args: HandlerArgs<K>): Promise<ApiReply<HandlerResult<K>>> {
    try {
      const res = await fetch(`${this.endpoint.url}/api/call/${encodeURIComponent(name)}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.endpoint.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(args ?? {}),
        signal: AbortSignal.timeout(120_000),
      });
      const body = (await res.json()) as ApiReply<HandlerResult<K>>;
      if (typeof body?.ok === 'boolean') return body;
      return { ok: false, error: { code: 'internal', message: `the agent answered HTTP ${res.status}` } };
    } catch (err) {
      return {
        ok: false,
        error: { code: 'unavailable', message: `the agent at ${this.endpoint.url} cannot be reached: ${(err as Error).message}` },
      };
    }
  }

  onEvent(listener: EventListener): () => void {
    this.listeners.add(listener);
    if (!this.abort) void this.stream();
    return () => this.listeners.delete(listener);
  }

  /** Called each time the event stream (re)connects: events sent while it was down are lost. */
  onConnect(listener: () => void): () => void {
    this.connectListeners.add(listener);
    return () => this.connectListeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    this.abort?.abort();
  }

  private async stream(): Promise<void> {
    let delay = 500;
    while (!this.closed) {
      this.abort = new AbortController();
      try {
        const res = await fetch(`${this.endpoint.url}/api/events`, {
          headers: { authorization: `Bearer ${this.endpoint.token}`, accept: 'text/event-stream' },
          signal: this.abort.signal,
        });
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        delay = 500;
        for (const l of this.connectListeners) l();
        const parser = new SseParser();
        const decoder = new TextDecoder();
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          for (const msg of parser.push(decoder.decode(chunk, { stream: true }))) {
            let payload: unknown;
            try {
              payload = JSON.parse(msg.data);
            } catch {
              continue;
            }
            for (const l of this.listeners) l(msg.event as EventName, payload as never);
          }
        }
      } catch {
        // Dropped or refused: retry below.
      }
      if (this.closed) return;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 15_000);
    }
  }
}
