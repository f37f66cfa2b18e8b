// GET /healthz (no token: for service managers) and GET /metrics (Prometheus text, token needed).
import type { FastifyInstance } from 'fastify';
import type { AgentContext } from '../../handlers/context';
import type { Metrics } from '../metrics';

export function healthRoutes(app: FastifyInstance, ctx: AgentContext, metrics: Metrics, version: string): void {
  const ping = ctx.tdb.sqlite.prepare('SELECT 1');
  app.get('/healthz', (_req, reply) => {
    let db = 'ok';
    try {
      ping.get();
    } catch (err) {
      db = (err as Error).message;
    }
    // A full disk or an I/O error stops writing: unhealthy, with the reason.
    const storage = ctx.writer.storageProblem;
    const ok = db === 'ok' && storage === null;
    reply.code(ok ? 200 : 503);
    return storage === null
      ? { ok, version, queueDepth: ctx.writer.queueDepth, db }
      : { ok, version, queueDepth: ctx.writer.queueDepth, db, storage };
  });

  app.get('/metrics', (_req, reply) => {
    reply.type('text/plain; version=0.0.4; charset=utf-8').send(metrics.render());
  });
}
