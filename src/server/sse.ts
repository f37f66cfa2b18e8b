// GET /api/events: the event bus as server-sent events, with heartbeats so proxies and browsers
// keep idle streams open; a read key's stream carries only what its customer may see. Returns a
// function that ends every open stream (on close).
import type { FastifyInstance } from 'fastify';
import type { EventName, Events } from '../core/api/contract';
import type { EventBus } from '../handlers/context';
import { principalOf } from './gates';

/**
 * What a read key's dashboard may see of an event: its own customer's alerts, that something was
 * stored (to refresh, without other customers' counts), nothing of sync.
 */
export function eventForCustomer(event: EventName, payload: unknown, customer: string): unknown {
  if (event === 'records.flushed') return { at: (payload as Events['records.flushed']).at };
  if (event === 'alerts.new') return (payload as { customerId?: string }).customerId === customer ? payload : undefined;
  return undefined;
}

export function installEventStream(app: FastifyInstance, events: EventBus, heartbeatMs: number): () => void {
  const streams = new Set<() => void>();
  app.get('/api/events', (req, reply) => {
    const p = principalOf(req);
    const customer = p.kind === 'key' ? p.key.customer_id : null;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    res.write('retry: 3000\n: connected\n\n');
    const off = events.onAny((event, payload) => {
      // A client that stopped reading is dropped rather than buffered without end; browsers reconnect.
      if (res.writableLength > 1024 * 1024) return stop();
      const shown = customer === null ? payload : eventForCustomer(event, payload, customer);
      if (shown === undefined) return;
      res.write(`event: ${event}\ndata: ${JSON.stringify(shown ?? null)}\n\n`);
    });
    const beat = setInterval(() => res.write(': heartbeat\n\n'), heartbeatMs);
    const stop = () => {
      if (!streams.delete(stop)) return;
      off();
      clearInterval(beat);
      if (!res.destroyed) res.end();
    };
    streams.add(stop);
    res.on('close', stop);
    res.on('error', stop); // a write racing a dropped connection must not become an unhandled error
  });
  return () => {
    for (const stop of [...streams]) stop();
  };
}
