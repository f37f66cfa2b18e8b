// The server's own metrics: the writer's counters and commit times, and requests by route and
// status. Returns the writer's flush listener, which also tells the event bus what was stored.
import type { FastifyInstance } from 'fastify';
import type { AgentContext } from '../handlers/context';
import type { FlushInfo } from '../storage/writer';
import type { Metrics } from './metrics';

function registerWriterMetrics(metrics: Metrics, ctx: AgentContext): (info: FlushInfo) => void {
  const writer = ctx.writer;
  const wm = writer.metrics;
  const counter = (name: string, help: string, value: () => number) =>
    metrics.registerMetric({ name, help, type: 'counter', collect: () => [{ value: value() }] });
  counter('tally_events_ingested_total', 'Usage records committed (duplicates excluded).', () => wm.ingested);
  counter('tally_events_duplicate_total', 'Records ignored because their id was already stored (idempotent retries).', () => wm.duplicates);
  counter('tally_flushes_total', 'Writer transactions committed.', () => wm.flushes);
  counter('tally_flush_errors_total', 'Writer transactions that failed.', () => wm.flushErrors);
  counter('tally_storage_failures_total', 'Times writing stopped for a full disk or an I/O error.', () => wm.storageFailures);
  metrics.gauge('tally_storage_writable', '1 while the database takes writes, 0 while a full disk or an I/O error stops them.', () =>
    writer.storageProblem === null ? 1 : 0,
  );
  metrics.gauge('tally_writer_queue_depth', 'Records waiting for the next commit.', () => writer.queueDepth);
  const flushSeconds = metrics.histogram(
    'tally_flush_duration_seconds',
    'Time spent in one writer commit.',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  );
  return (info: FlushInfo) => {
    flushSeconds.observe(info.durationMs / 1000);
    if (info.inserted === 0) return;
    const services = [...new Set(info.touched.map((t) => t.service))].sort();
    ctx.events.emit('records.flushed', { records: info.inserted, services, at: new Date(ctx.now()).toISOString() });
  };
}

function countRequests(app: FastifyInstance, metrics: Metrics): void {
  // Counted in plain maps on the hot path (route, then status: no key string built per request);
  // turned into labelled samples only when scraped, in the order the pairs were first seen.
  const byRoute = new Map<string, Map<number, { route: string; status: string; n: number }>>();
  const entries: Array<{ route: string; status: string; n: number }> = [];
  metrics.registerMetric({
    name: 'tally_http_requests_total',
    help: 'HTTP requests by route and status.',
    type: 'counter',
    collect: () => entries.map((e) => ({ labels: { route: e.route, status: e.status }, value: e.n })),
  });
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    let byStatus = byRoute.get(route);
    if (byStatus === undefined) byRoute.set(route, (byStatus = new Map()));
    const entry = byStatus.get(status);
    if (entry) entry.n++;
    else {
      const created = { route, status: String(status), n: 1 };
      byStatus.set(status, created);
      entries.push(created);
    }
    done();
  });
}

/** Registers the metrics and the request counter; the caller attaches the returned listener once listening. */
export function installTelemetry(app: FastifyInstance, metrics: Metrics, ctx: AgentContext): (info: FlushInfo) => void {
  const onFlush = registerWriterMetrics(metrics, ctx);
  countRequests(app, metrics);
  return onFlush;
}
