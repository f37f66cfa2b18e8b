// GET /api/events: the event bus as server-sent events, with heartbeats so proxies and browsers
// keep idle streams open. Returns a function that ends every open stream (on close).
import type { FastifyInstance } from 'fastify';
import type { EventBus } from '../handlers/context';

export function installEventStream(app: FastifyInstance, events: EventBus, heartbeatMs: number): () => void {
  const streams = new Set<() => void>();
  app.get('/api/events', (_req, reply) => {
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
      res.write(`event: ${event}\ndata: ${JSON.stringify(payload ?? null)}\n\n`);
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
