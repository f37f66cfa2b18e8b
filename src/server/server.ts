// The agent's local HTTP API on Fastify: ingestion (/v1/events), reports and services (/v1),
// the typed contract for the UI (/api/call/:name, /api/events as server-sent events), health,
// Prometheus metrics, and the browser dashboard's static files.
//
// Every request passes three gates first: the Host header must be the agent's own address (DNS
// rebinding), a browser's Origin must be the agent's own origin (cross-site requests), and /v1,
// /api and /metrics need the token (Authorization: Bearer) or the dashboard's session cookie.
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { HandlerName } from '../core/api/contract';
import type { ApiError } from '../core/api/reply';
import { invalid, TallyError, toTallyError, type ErrorCode } from '../core/errors';
import { parseDecimalToNanos } from '../core/money';
import { checkServiceDefinition } from '../storage/repos/services';
import type { ServiceDefinition } from '../core/services';
import type { AgentContext } from '../handlers/context';
import { createHandlers, dispatch, type Implementation } from '../handlers/handlers';
import type { Handlers } from '../core/api/contract';
import { DISCOVERY_FILE, dataDirOf, readAgentInfo, type AgentInfo } from '../client/discovery';
import { defaultDataDir } from '../config/paths';
import type { FlushInfo } from '../storage/writer';
import { allowedHosts, isLoopbackHost, loadOrCreateToken, newSecret, readCookie, sameSecret } from './auth';
import { CLOUDEVENTS, CLOUDEVENTS_BATCH, parseEventsBody, renameField } from './events';
import { Metrics } from './metrics';
import { findStatic } from './static';

export const AGENT_VERSION = '0.1.0';

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
}

export interface HttpServer {
  readonly url: string;
  readonly token: string;
  /** Open in a browser: trades the token for a session cookie (as Jupyter does). */
  readonly dashboardUrl: string;
  readonly metrics: Metrics;
  close(): Promise<void>;
}

const STATUS: Record<ErrorCode, number> = {
  invalid_input: 400,
  not_found: 404,
  conflict: 409,
  queue_full: 429,
  locked: 503,
  unsupported: 400,
  unauthorized: 401,
  forbidden: 403,
  unavailable: 503,
  internal: 500,
};

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'";

const NEEDS_AUTH = /^\/(?:v1|api)(?:[/?]|$)|^\/metrics(?:\?|$)/;

/**
 * Decided on the route the router matched, not on the raw URL: the router decodes %-escapes,
 * so "/%61pi/call/x" reaches /api/call/:name. Unmatched paths are checked raw and decoded.
 */
function needsAuth(req: FastifyRequest): boolean {
  const route = req.routeOptions.url;
  if (route !== undefined && route !== '/*') return NEEDS_AUTH.test(route);
  if (NEEDS_AUTH.test(req.url)) return true;
  try {
    return NEEDS_AUTH.test(decodeURIComponent(req.url));
  } catch {
    return true; // a malformed escape: treat as protected
  }
}

function errorBody(code: ErrorCode, message: string, field?: string): { ok: false; error: ApiError } {
  return { ok: false, error: field === undefined ? { code, message } : { code, message, field } };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Why a body is not JSON, with the hint people need most: JSON has no NaN or Infinity. */
function jsonError(text: string, err: unknown): TallyError {
  const reason = (err as Error).message.slice(0, 200);
  const hint = /(?:[:,[]\s*)[-+]?(?:NaN|Infinity)\b/.test(text) ? ' (JSON has no NaN or Infinity: quantities must be finite numbers)' : '';
  return invalid('body', `is not valid JSON: ${reason}${hint}`);
}

function fromFastifyError(err: FastifyError, bodyLimit: number): { status: number; body: ReturnType<typeof errorBody> } | null {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        body: errorBody(
          'invalid_input',
          `body: larger than the limit of ${bodyLimit} bytes (http.bodyLimitBytes); send smaller batches`,
          'body',
        ),
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        body: errorBody('invalid_input', `content-type: must be application/json, ${CLOUDEVENTS} or ${CLOUDEVENTS_BATCH}`, 'content-type'),
      };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, body: errorBody('invalid_input', 'content-length: does not match the body', 'content-length') };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, body: errorBody('invalid_input', 'body: is empty', 'body') };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, body: errorBody('invalid_input', 'body: is not valid JSON', 'body') };
  }
  if (err.validation) {
    const first = err.validation[0];
    const field = first ? `${err.validationContext ?? 'body'}${first.instancePath.replace(/\//g, '.')}` : 'body';
    return { status: 400, body: errorBody('invalid_input', `${field}: ${first?.message ?? 'is invalid'}`, field) };
  }
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return { status: err.statusCode, body: errorBody('invalid_input', err.message) };
  }
  return null;
}

/** POST /v1/services: {template} or {service: {...}, unitPrice?}; every field checked and named. */
function parseServiceBody(body: unknown): { template: string } | { service: ServiceDefinition; unitPrice?: string } {
  if (!isObject(body))
    throw invalid('body', 'must be a JSON object: {"template": "llm"} or {"service": {"name": …, "baseUnit": …}, "unitPrice": "0.001"}');
  if (body.template !== undefined) {
    if (typeof body.template !== 'string' || body.template === '') throw invalid('template', 'must be a template name (llm, document)');
    return { template: body.template };
  }
  const s = body.service;
  if (!isObject(s))
    throw invalid(
      'service',
      'must be an object {name, baseUnit, displayUnit?, displayFactor?, integerOnly?, requiredFields?, breakdownKeys?}',
    );
  const known = new Set([
    'name',
    'displayName',
    'baseUnit',
    'displayUnit',
    'displayFactor',
    'integerOnly',
    'requiredFields',
    'breakdownKeys',
    'builtin',
  ]);
  for (const k of Object.keys(s)) if (!known.has(k)) throw invalid(`service.${k}`, 'is not a service field');
  const str = (k: string, fallback?: string): string => {
    const v = s[k] ?? fallback;
    if (typeof v !== 'string' || v.trim() === '' || v.length > 128)
      throw invalid(`service.${k}`, 'must be a non-empty string (at most 128 characters)');
    return v;
  };
  const keys = (k: string): string[] => {
    const v = s[k] ?? [];
    if (!Array.isArray(v) || v.length > 32) throw invalid(`service.${k}`, 'must be an array of at most 32 metadata keys');
    v.forEach((x, i) => {
      if (typeof x !== 'string') throw invalid(`service.${k}[${i}]`, 'must be a string');
    });
    return v as string[];
  };
  if (s.integerOnly !== undefined && typeof s.integerOnly !== 'boolean') throw invalid('service.integerOnly', 'must be true or false');
  if (s.builtin !== undefined && s.builtin !== false) throw invalid('service.builtin', 'a registered service cannot be built in');
  const displayFactor = s.displayFactor ?? 1;
  if (typeof displayFactor !== 'number') throw invalid('service.displayFactor', 'must be a number > 0');
  const name = str('name');
  const baseUnit = str('baseUnit');
  const service: ServiceDefinition = {
    name,
    displayName: str('displayName', name),
    baseUnit,
    displayUnit: str('displayUnit', baseUnit),
    displayFactor,
    integerOnly: (s.integerOnly as boolean | undefined) ?? false,
    requiredFields: keys('requiredFields'),
    breakdownKeys: keys('breakdownKeys'),
    builtin: false,
  };
  try {
    checkServiceDefinition(service);
  } catch (err) {
    const e = toTallyError(err);
    if (e.field !== undefined) throw invalid(`service.${e.field}`, e.message.slice(e.field.length + 2));
    throw e;
  }
  if (body.unitPrice === undefined) return { service };
  if (typeof body.unitPrice !== 'string') throw invalid('unitPrice', 'must be a decimal string such as "0.001"');
  try {
    parseDecimalToNanos(body.unitPrice);
  } catch (err) {
    throw invalid('unitPrice', (err as Error).message);
  }
  return { service, unitPrice: body.unitPrice };
}

const REPORT_PARAMS = new Set(['from', 'to', 'month', 'service', 'customer', 'customerId', 'detailed']);

function reportArgs(query: Record<string, unknown>, knownService: (name: string) => boolean) {
  for (const k of Object.keys(query))
    if (!REPORT_PARAMS.has(k)) throw invalid(k, `is not a report parameter (use ${[...REPORT_PARAMS].join(', ')})`);
  const one = (k: string): string | undefined => {
    const v = query[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw invalid(k, 'must be given once');
    return v;
  };
  const detailedText = one('detailed');
  let detailed = false;
  if (detailedText !== undefined) {
    if (['', 'true', '1'].includes(detailedText)) detailed = true;
    else if (!['false', '0'].includes(detailedText)) throw invalid('detailed', 'must be true or false');
  }
  const service = one('service');
  if (service !== undefined && !knownService(service)) throw invalid('service', `unknown service "${service.slice(0, 64)}"`);
  return { from: one('from'), to: one('to'), month: one('month'), service, customerId: one('customer') ?? one('customerId'), detailed };
}

function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

function placeholderPage(title: string, text: string): string {
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tally: ${esc(title)}</title></head><body><h1>${esc(title)}</h1><p>${esc(text)}</p></body></html>`;
}

export async function startHttpServer(
  ctx: AgentContext,
  handlers: Implementation<Handlers> = createHandlers(ctx),
  options: HttpServerOptions = {},
): Promise<HttpServer> {
  const { host, port, allowNonLoopback, bodyLimitBytes } = ctx.config.http;
  if (!isLoopbackHost(host) && !allowNonLoopback) {
    throw new TallyError(
      'invalid_input',
      `http.host: "${host}" is not a loopback address; the API would be reachable from other machines. Set http.allowNonLoopback to true to allow it`,
      { field: 'http.host' },
    );
  }
  const log = options.log ?? ((line: object) => process.stderr.write(JSON.stringify(line) + '\n'));
  const version = options.version ?? AGENT_VERSION;
  const dataDir = ctx.config.db === ':memory:' ? defaultDataDir() : dataDirOf(ctx.config.db);
  const token = loadOrCreateToken(dataDir, log);
  // The cookie carries its own secret, not the token: a leaked cookie dies with this process.
  const session = newSecret();
  const metrics = options.metrics ?? new Metrics();
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const writer = ctx.writer;
  const maxQueue = ctx.config.writer.maxQueue;

  // --- metrics -------------------------------------------------------------------------------
  const wm = writer.metrics;
  metrics.registerMetric({
    name: 'tally_events_ingested_total',
    help: 'Usage records committed (duplicates excluded).',
    type: 'counter',
    collect: () => [{ value: wm.ingested }],
  });
  metrics.registerMetric({
    name: 'tally_events_duplicate_total',
    help: 'Records ignored because their id was already stored (idempotent retries).',
    type: 'counter',
    collect: () => [{ value: wm.duplicates }],
  });
  metrics.registerMetric({
    name: 'tally_flushes_total',
    help: 'Writer transactions committed.',
    type: 'counter',
    collect: () => [{ value: wm.flushes }],
  });
  metrics.registerMetric({
    name: 'tally_flush_errors_total',
    help: 'Writer transactions that failed.',
    type: 'counter',
    collect: () => [{ value: wm.flushErrors }],
  });
  metrics.gauge('tally_writer_queue_depth', 'Records waiting for the next commit.', () => writer.queueDepth);
  const flushSeconds = metrics.histogram(
    'tally_flush_duration_seconds',
    'Time spent in one writer commit.',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  );
  // Counted in a plain map on the hot path; turned into labelled samples only when scraped.
  const httpRequests = new Map<string, { route: string; status: string; n: number }>();
  metrics.registerMetric({
    name: 'tally_http_requests_total',
    help: 'HTTP requests by route and status.',
    type: 'counter',
    collect: () => [...httpRequests.values()].map((e) => ({ labels: { route: e.route, status: e.status }, value: e.n })),
  });

  // --- writer → event bus ----------------------------------------------------------------------
  const onFlush = (info: FlushInfo) => {
    flushSeconds.observe(info.durationMs / 1000);
    if (info.inserted === 0) return;
    const services = [...new Set(info.touched.map((t) => t.service))].sort();
    ctx.events.emit('records.flushed', { records: info.inserted, services, at: new Date(ctx.now()).toISOString() });
  };

  // Loaded here, not at the top: CLI commands that never serve HTTP do not pay for Fastify.
  const { default: Fastify } = await import('fastify');
  // On close, idle keep-alive connections are dropped but requests waiting for a commit finish.
  const app = Fastify({ logger: false, bodyLimit: bodyLimitBytes, forceCloseConnections: 'idle', return503OnClosing: true });
  let boundPort = port;
  let hosts = new Set<string>();
  let origins = new Set<string>();
  const cookieName = () => `tally_session_${boundPort}`;
  const streams = new Set<() => void>();

  // --- parsing ---------------------------------------------------------------------------------
  // JSON only: no text/plain or form bodies, the content types a cross-site form can send.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', CLOUDEVENTS, CLOUDEVENTS_BATCH], { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string;
    if (text.length === 0) return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(jsonError(text, err), undefined);
    }
  });

  // --- gates -----------------------------------------------------------------------------------
  const send = (reply: FastifyReply, status: number, body: unknown) => reply.code(status).send(body);
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('content-security-policy', CSP);
    const hostHeader = (req.headers.host ?? '').toLowerCase();
    if (!hosts.has(hostHeader)) {
      send(
        reply,
        403,
        errorBody(
          'forbidden',
          `host: "${hostHeader.slice(0, 100)}" is not this agent's address (use 127.0.0.1:${boundPort} or localhost:${boundPort})`,
          'host',
        ),
      );
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !origins.has(origin.toLowerCase())) {
      send(
        reply,
        403,
        errorBody('forbidden', `origin: "${origin.slice(0, 100)}" may not call this agent (cross-origin requests are refused)`, 'origin'),
      );
      return;
    }
    // Another port on localhost is "same-site" to a browser (and gets SameSite=Strict cookies):
    // only the agent's own pages, or no browser at all, may call the API. A link from
    // elsewhere may still open the dashboard page itself.
    const fetchSite = req.headers['sec-fetch-site'];
    const protectedRoute = needsAuth(req);
    if ((fetchSite === 'cross-site' || fetchSite === 'same-site') && (protectedRoute || req.method !== 'GET')) {
      send(reply, 403, errorBody('forbidden', `sec-fetch-site: ${fetchSite} requests are refused`, 'sec-fetch-site'));
      return;
    }
    if (protectedRoute) {
      const auth = req.headers.authorization;
      let ok = false;
      if (auth !== undefined) {
        ok = auth.startsWith('Bearer ') && sameSecret(auth.slice(7).trim(), token);
        if (!ok) {
          reply.header('www-authenticate', 'Bearer error="invalid_token"');
          send(
            reply,
            401,
            errorBody('unauthorized', 'authorization: wrong token (the token is in agent.token beside the database)', 'authorization'),
          );
          return;
        }
      } else {
        const cookie = readCookie(req.headers.cookie, cookieName());
        ok = cookie !== undefined && sameSecret(cookie, session);
      }
      if (!ok) {
        reply.header('www-authenticate', 'Bearer');
        send(
          reply,
          401,
          errorBody(
            'unauthorized',
            'authorization: missing token: send "Authorization: Bearer <token>" (the token is in agent.token beside the database), or open the dashboard link the agent printed',
            'authorization',
          ),
        );
        return;
      }
    }
    done();
  });

  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const key = `${reply.statusCode} ${route}`;
    const entry = httpRequests.get(key);
    if (entry) entry.n++;
    else httpRequests.set(key, { route, status: String(reply.statusCode), n: 1 });
    done();
  });

  app.setErrorHandler((error: FastifyError | TallyError, req, reply) => {
    if (!(error instanceof TallyError)) {
      const mapped = fromFastifyError(error, bodyLimitBytes);
      if (mapped) return reply.code(mapped.status).send(mapped.body);
    }
    const e = toTallyError(error);
    const status = STATUS[e.code];
    if (e.code === 'internal') {
      log({
        level: 'error',
        msg: 'http request failed',
        method: req.method,
        route: req.routeOptions.url,
        error: e.message,
        stack: (e.cause as Error | undefined)?.stack,
      });
      return reply.code(500).send(errorBody('internal', 'internal error (details are in the agent log)'));
    }
    if (status === 429 || status === 503) reply.header('retry-after', String(Math.max(1, Math.ceil((e.retryAfterMs ?? 1000) / 1000))));
    return reply.code(status).send({ ok: false, error: e.toJSON() });
  });

  // The built renderer sits beside the CLI bundle (dist/ → ../out/renderer) wherever the agent
  // was started from (a system service starts in /); the working directory is the fallback.
  const defaultStatic = [fileURLToPath(new URL('../out/renderer', import.meta.url)), path.resolve('out/renderer')].find((d) =>
    fs.existsSync(d),
  );
  const staticRoot = options.staticDir !== undefined ? path.resolve(options.staticDir) : defaultStatic;
  const serveStatic = staticRoot !== undefined && fs.existsSync(staticRoot);

  const sendStatic = async (reply: FastifyReply, urlPath: string): Promise<boolean> => {
    const found = serveStatic ? await findStatic(staticRoot, urlPath) : null;
    if (!found) return false;
    reply.header('content-type', found.type);
    reply.header('content-length', String(found.size));
    reply.header('cache-control', found.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    reply.send(fs.createReadStream(found.file));
    return true;
  };

  app.setNotFoundHandler(async (req, reply) => {
    // Paths of the single-page app (no file extension) get its index page.
    const path0 = req.url.split('?')[0]!;
    if (req.method === 'GET' && !needsAuth(req) && !/\.[a-z0-9]+$/i.test(path0) && (req.headers.accept ?? '').includes('text/html')) {
      if (await sendStatic(reply, '/index.html')) return reply;
    }
    return reply.code(404).send(errorBody('not_found', `no route ${req.method} ${path0.slice(0, 200)}`));
  });

  // --- dashboard ---------------------------------------------------------------------------------
  if (serveStatic) {
    app.get('/*', async (req, reply) => {
      if (await sendStatic(reply, req.url)) return reply;
      return reply.callNotFound();
    });
  }

  app.get('/', async (req: FastifyRequest<{ Querystring: { token?: string } }>, reply) => {
    const given = req.query.token;
    if (given !== undefined) {
      if (typeof given !== 'string' || !sameSecret(given, token)) {
        return reply
          .code(401)
          .type('text/html; charset=utf-8')
          .send(
            placeholderPage(
              'Wrong token',
              'This link does not carry the agent’s current token. Open the link the agent printed, or see agent.token beside the database.',
            ),
          );
      }
      reply.header('set-cookie', `${cookieName()}=${session}; HttpOnly; SameSite=Strict; Path=/`);
      reply.header('cache-control', 'no-store');
      return reply.redirect('/', 302);
    }
    if (await sendStatic(reply, '/index.html')) return reply;
    return reply
      .type('text/html; charset=utf-8')
      .send(placeholderPage('Tally agent', 'The dashboard is not built here (npm run build:ui). The API is at /v1 and /api.'));
  });

  // --- health and metrics ------------------------------------------------------------------------
  const ping = ctx.tdb.sqlite.prepare('SELECT 1');
  app.get('/healthz', (_req, reply) => {
    let db = 'ok';
    try {
      ping.get();
    } catch (err) {
      db = (err as Error).message;
    }
    reply.code(db === 'ok' ? 200 : 503);
    return { ok: db === 'ok', version, queueDepth: writer.queueDepth, db };
  });

  app.get('/metrics', (_req, reply) => {
    reply.type('text/plain; version=0.0.4; charset=utf-8').send(metrics.render());
  });

  // --- ingestion -----------------------------------------------------------------------------------
  app.post('/v1/events', async (req, reply) => {
    const parsed = parseEventsBody(req.body, req.headers['content-type']);
    if (parsed.inputs.length > maxQueue) {
      return reply
        .code(413)
        .send(
          errorBody(
            'invalid_input',
            `events: ${parsed.inputs.length} events exceed the writer queue (writer.maxQueue ${maxQueue}); send smaller batches`,
            'events',
          ),
        );
    }
    let stored;
    try {
      // Resolves after the commit that holds these events; concurrent requests share it.
      stored = await writer.recordMany(parsed.inputs, parsed.single ? 'record' : 'events');
    } catch (err) {
      throw err instanceof TallyError ? renameField(err, parsed) : err;
    }
    const ids = new Array<string>(stored.length);
    let duplicates = 0;
    for (let i = 0; i < stored.length; i++) {
      ids[i] = stored[i]!.id;
      if (!stored[i]!.inserted) duplicates++;
    }
    reply.code(duplicates === stored.length ? 200 : 201);
    return { accepted: stored.length, duplicates, ids, records: stored };
  });

  // --- reports and services ------------------------------------------------------------------------
  app.get('/v1/report', async (req) => {
    const args = reportArgs(req.query as Record<string, unknown>, (name) => writer.services.has(name));
    return handlers['report.usage'](args);
  });

  app.get('/v1/services', async () => handlers['services.list']({}));

  app.post('/v1/services', async (req, reply) => {
    const args = parseServiceBody(req.body);
    let services;
    try {
      services = await handlers['services.add'](args);
    } catch (err) {
      // The registry names the definition's own fields ("name"); the caller sent "service.name".
      const e = toTallyError(err);
      if (e.code === 'invalid_input' && 'service' in args && e.field !== undefined && e.field in args.service) {
        throw invalid(`service.${e.field}`, e.message.slice(e.field.length + 2));
      }
      throw e;
    }
    reply.code(201);
    return services;
  });

  // --- the typed contract for the UI -------------------------------------------------------------
  app.post('/api/call/:name', async (req: FastifyRequest<{ Params: { name: string } }>) => {
    const args = req.body ?? {};
    if (!isObject(args)) return errorBody('invalid_input', 'args: must be a JSON object', 'args');
    return dispatch(handlers, req.params.name as HandlerName, args as never, log as (line: Record<string, unknown>) => void);
  });

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
    const off = ctx.events.onAny((event, payload) => {
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

  // --- listen ----------------------------------------------------------------------------------------
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
  writer.on('flush', onFlush);
  boundPort = (app.server.address() as AddressInfo).port;
  hosts = allowedHosts(host, boundPort, allowNonLoopback);
  origins = new Set([...hosts].map((h) => `http://${h}`));
  const urlHost =
    host === '::1' || host === '[::1]' ? '[::1]' : isLoopbackHost(host) || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const url = `http://${urlHost}:${boundPort}`;

  const info: AgentInfo = { url, pid: process.pid, startedAt: new Date(ctx.now()).toISOString(), db: path.resolve(ctx.config.db) };
  const discoveryFile = path.join(dataDir, DISCOVERY_FILE);
  if (ctx.config.db !== ':memory:') writeFileAtomic(discoveryFile, JSON.stringify(info, null, 2) + '\n');

  let closing: Promise<void> | null = null;
  return {
    url,
    token,
    dashboardUrl: `${url}/?token=${token}`,
    metrics,
    close() {
      closing ??= (async () => {
        writer.off('flush', onFlush);
        for (const stop of [...streams]) stop();
        await app.close();
        if (readAgentInfo(dataDir)?.pid === process.pid && ctx.config.db !== ':memory:') fs.rmSync(discoveryFile, { force: true });
      })();
      return closing;
    },
  };
}
