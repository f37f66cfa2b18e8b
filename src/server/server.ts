// The agent's local HTTP API on Fastify, composed from one module per job: gates.ts (Host,
// Origin, token), errors.ts (TallyError → HTTP status, once), the route groups in routes/
// (ingestion, reports and services, the event log, the UI's typed contract, dashboard, health
// and metrics),
// sse.ts (server-sent events) and telemetry.ts (the server's metrics). This file only wires them,
// listens, and writes the discovery file.
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { TallyError } from '../core/errors';
import type { AgentContext } from '../handlers/context';
import { createHandlers, type AllHandlers } from '../handlers/handlers';
import { DISCOVERY_FILE, dataDirOf, readAgentInfo, type AgentInfo } from '../client/discovery';
import { defaultDataDir } from '../config/paths';
import { keyByHash, keyFinder } from '../storage/repos/keys';
import { allowedHosts, isLoopbackHost, loadOrCreateToken, newSecret } from './auth';
import { installErrorHandler, installJsonParser } from './errors';
import { installGates, routerErrorHandler, type GateState } from './gates';
import { Metrics } from './metrics';
import { callRoutes } from './routes/call';
import { correctionRoutes } from './routes/corrections';
import { dashboardRoutes } from './routes/dashboard';
import { healthRoutes } from './routes/health';
import { ingestRoutes } from './routes/ingest';
import { reportRoutes } from './routes/reports';
import { eventLogRoutes } from './routes/event-log';
import { downloadRoutes } from './routes/download';
import { RateLimiter } from './ratelimit';
import { installEventStream } from './sse';
import { installTelemetry } from './telemetry';
import { registerProcessMetrics } from './process-metrics';
import { installBodyTimeout } from './timeouts';
import { writeFileAtomic } from '../files/atomic';
import { VERSION } from '../core/version';

export const AGENT_VERSION = VERSION;

export interface HttpServerOptions {
  /** The built renderer (default: out/renderer under the working directory, when it exists). */
  readonly staticDir?: string;
  /** Structured log lines (errors, warnings). Default: JSON lines on stderr. */
  readonly log?: (line: object) => void;
  /** The agent's metrics registry; the server adds the writer's and its own metrics to it. */
  readonly metrics?: Metrics;
  readonly version?: string;
  /** Comment lines on idle event streams keep proxies and browsers from dropping them. */
  readonly heartbeatMs?: number;
  /** A request (headers and body) must arrive within this, or it is answered 408 (a trickling client). */
  readonly bodyTimeoutMs?: number;
  /** A connection with no bytes either way for this long is closed (event streams send heartbeats). */
  readonly idleTimeoutMs?: number;
}

export interface HttpServer {
  readonly url: string;
  readonly token: string;
  /** Open in a browser: trades the token for a session cookie (as Jupyter does). */
  readonly dashboardUrl: string;
  readonly metrics: Metrics;
  close(): Promise<void>;
}

function checkExposure(ctx: AgentContext): void {
  const { host, allowNonLoopback } = ctx.config.http;
  if (isLoopbackHost(host) || allowNonLoopback) return;
  throw new TallyError(
    'invalid_input',
    `http.host: "${host}" is not a loopback address; the API would be reachable from other machines. Set http.allowNonLoopback to true to allow it`,
    { field: 'http.host' },
  );
}

async function listen(app: FastifyInstance, host: string, port: number): Promise<number> {
  try {
    await app.listen({ host, port });
  } catch (err) {
    await app.close().catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new TallyError('unavailable', `http.port: ${host}:${port} is already in use (is another agent running?)`, {
        field: 'http.port',
        cause: err,
      });
    if (code === 'EADDRNOTAVAIL')
      throw new TallyError('invalid_input', `http.host: "${host}" is not an address of this machine`, { field: 'http.host', cause: err });
    throw err;
  }
  return (app.server.address() as AddressInfo).port;
}

function publicUrl(host: string, port: number): string {
  const urlHost =
    host === '::1' || host === '[::1]' ? '[::1]' : isLoopbackHost(host) || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${urlHost}:${port}`;
}

/** Longer than any URL Node's HTTP parser accepts: the router never refuses a param by length. */
const MAX_PARAM_LENGTH = 16 * 1024;

function noJsonSchemas(): never {
  throw new Error('a route declared a JSON schema: routes check their input with zod (src/core/api)');
}

export async function startHttpServer(
  ctx: AgentContext,
  handlers: AllHandlers = createHandlers(ctx),
  options: HttpServerOptions = {},
): Promise<HttpServer> {
  checkExposure(ctx);
  const { host, port, allowNonLoopback, bodyLimitBytes } = ctx.config.http;
  const log = options.log ?? ((line: object) => process.stderr.write(JSON.stringify(line) + '\n'));
  const dataDir = ctx.config.db === ':memory:' ? defaultDataDir() : dataDirOf(ctx.config.db);
  const gate: GateState = {
    token: loadOrCreateToken(dataDir, log),
    session: newSecret(),
    port,
    hosts: new Set(),
    origins: new Set(),
    findKey: keyFinder(ctx.tdb.sqlite),
    findKeyByHash: keyByHash(ctx.tdb.sqlite),
    keySessions: new Map(),
    limiter: new RateLimiter(),
    defaultRate: ctx.config.http.rateLimitPerMinute,
  };
  const metrics = options.metrics ?? new Metrics();
  // The process metrics every Node.js exporter has (CPU, memory, event-loop lag), once per registry.
  const stopProcessMetrics = metrics.has('process_resident_memory_bytes') ? () => undefined : registerProcessMetrics(metrics);

  // Loaded here, not at the top: CLI commands that never serve HTTP do not pay for Fastify.
  const { default: Fastify } = await import('fastify');
  // On close, idle keep-alive connections are dropped but requests waiting for a commit finish.
  const bodyTimeoutMs = options.bodyTimeoutMs ?? 30_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 120_000;
  const app = Fastify({
    logger: false,
    bodyLimit: bodyLimitBytes,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // Headers and bodies in time (timeouts.ts cuts a trickled body); idle sockets closed.
    requestTimeout: bodyTimeoutMs,
    connectionTimeout: idleTimeoutMs,
    // The Keep-Alive header tells clients the same idle timeout (Fastify's default said 72 s).
    keepAliveTimeout: idleTimeoutMs,
    // Bodies are checked with zod (src/core/api), never with JSON schemas: without these Fastify
    // would load ajv and fast-json-stringify (~110 modules, ~MBs of heap) for nothing.
    schemaController: { compilersFactory: { buildValidator: noJsonSchemas, buildSerializer: noJsonSchemas } },
    // Routes judge their own params (an id too long is a 400 naming it, after the gates); the
    // router's default of 100 characters answered 414 with Fastify's body, before any gate.
    // Node's parser takes no request line longer than this anyway (16 KiB of headers).
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: routerErrorHandler(gate),
  });
  installJsonParser(app);
  installBodyTimeout(app, bodyTimeoutMs, idleTimeoutMs);
  installGates(app, gate);
  const onFlush = installTelemetry(app, metrics, ctx);
  installErrorHandler(app, bodyLimitBytes, log);
  dashboardRoutes(app, gate, options.staticDir);
  healthRoutes(app, ctx, metrics, options.version ?? AGENT_VERSION);
  ingestRoutes(app, ctx, handlers);
  reportRoutes(app, handlers);
  downloadRoutes(app, ctx);
  eventLogRoutes(app, handlers);
  correctionRoutes(app, handlers);
  callRoutes(app, handlers, log);
  const stopStreams = installEventStream(app, ctx.events, options.heartbeatMs ?? 15_000);

  gate.port = await listen(app, host, port);
  ctx.writer.on('flush', onFlush);
  gate.hosts = allowedHosts(host, gate.port, allowNonLoopback);
  gate.origins = new Set([...gate.hosts].map((h) => `http://${h}`));
  const url = publicUrl(host, gate.port);

  const info: AgentInfo = { url, pid: process.pid, startedAt: new Date(ctx.now()).toISOString(), db: path.resolve(ctx.config.db) };
  const discoveryFile = path.join(dataDir, DISCOVERY_FILE);
  if (ctx.config.db !== ':memory:') writeFileAtomic(discoveryFile, JSON.stringify(info, null, 2) + '\n');

  let closing: Promise<void> | null = null;
  return {
    url,
    token: gate.token,
    dashboardUrl: `${url}/?token=${gate.token}`,
    metrics,
    close() {
      closing ??= (async () => {
        ctx.writer.off('flush', onFlush);
        stopStreams();
        stopProcessMetrics();
        await app.close();
        if (readAgentInfo(dataDir)?.pid === process.pid && ctx.config.db !== ':memory:') fs.rmSync(discoveryFile, { force: true });
      })();
      return closing;
    },
  };
}
