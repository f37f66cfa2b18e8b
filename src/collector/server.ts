// The collector's HTTP server (Fastify): agents POST record batches to /v1/records with their
// token. HTTPS when given a certificate and key. Each token is rate-limited (token bucket, 429 with
// Retry-After). Errors are {error: {code, message, field?}}; unknown ones are logged and become 500.
import fs from 'node:fs';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { TallyError, toTallyError } from '../core/errors';
import { readCorrections } from './corrections';
import { ingest } from './ingest';
import { pgStore } from './pg-store';
import { TokenBuckets } from './ratelimit';
import type { CollectorDatabase } from './schema';
import type { CollectorStore } from './store';
import { verifyToken } from './tokens';

export interface CollectorServerOptions {
  /** The control store: tokens (and, by default, the records too). */
  readonly db: Kysely<CollectorDatabase>;
  /** Where records go; PostgreSQL's `db` when not given. */
  readonly store?: CollectorStore;
  readonly host?: string;
  readonly port?: number;
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  /** Requests per second per token, and the burst allowed. */
  readonly rate?: { readonly perSecond: number; readonly burst: number };
  readonly bodyLimitBytes?: number;
  readonly now?: () => number;
  readonly log?: (line: Record<string, unknown>) => void;
}

export interface RunningCollector {
  readonly url: string;
  readonly server: FastifyInstance;
  close(): Promise<void>;
}

const STATUS: Partial<Record<TallyError['code'], number>> = {
  invalid_input: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  queue_full: 429,
  unavailable: 503,
};

/** The token of `Authorization: Bearer <token68>`; the scheme is case-insensitive (RFC 7235 §2.1), as in the agent's gates. */
export function bearerToken(header: unknown): string | null {
  const m = typeof header === 'string' ? /^bearer[ \t]+([A-Za-z0-9_.~+/-]+=*)[ \t]*$/i.exec(header) : null;
  return m ? m[1]! : null;
}

export async function startCollector(o: CollectorServerOptions): Promise<RunningCollector> {
  const now = o.now ?? Date.now;
  const log = o.log ?? (() => undefined);
  const { default: Fastify } = await import('fastify'); // loaded only when a collector serves
  const https = o.tls ? { cert: fs.readFileSync(o.tls.certFile), key: fs.readFileSync(o.tls.keyFile) } : null;
  const app = (
    https
      ? Fastify({ https, bodyLimit: o.bodyLimitBytes ?? 64 * 1024 * 1024 })
      : Fastify({ bodyLimit: o.bodyLimitBytes ?? 64 * 1024 * 1024 })
  ) as FastifyInstance;
  const rate = o.rate ?? { perSecond: 50, burst: 100 };
  const buckets = new TokenBuckets(rate.perSecond, rate.burst, now);
  const store = o.store ?? pgStore({ db: o.db });

  app.setErrorHandler((err, _req, reply) => {
    const fastifyStatus = (err as { statusCode?: number }).statusCode;
    if (!(err instanceof TallyError) && fastifyStatus !== undefined && fastifyStatus >= 400 && fastifyStatus < 500) {
      // Fastify's own refusals: bad JSON, body too large, wrong content type.
      return reply.code(fastifyStatus).send({ error: { code: 'invalid_input', message: (err as Error).message } });
    }
    const e = toTallyError(err);
    if (e.code === 'internal') log({ level: 'error', msg: 'collector request failed', error: e.message });
    const status = STATUS[e.code] ?? 500;
    if (e.retryAfterMs !== undefined) void reply.header('retry-after', String(Math.max(1, Math.ceil(e.retryAfterMs / 1000))));
    return reply.code(status).send({ error: e.code === 'internal' ? { code: 'internal', message: 'internal error' } : e.toJSON() });
  });

  // Keep the request text: the PostgreSQL store reads the agents' own form from it without
  // parsing (pg-scan.ts), and otherwise sends it as it came (ingest.ts). Parsed on first use.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, text, done) => {
    let value: unknown;
    let parsed = false;
    done(null, {
      text: text as string,
      get value(): unknown {
        if (!parsed) {
          try {
            value = JSON.parse(text as string) as unknown;
          } catch {
            throw new TallyError('invalid_input', 'the body is not valid JSON', { field: 'body' });
          }
          parsed = true;
        }
        return value;
      },
    });
  });

  app.get('/v1/health', async () => ({ ok: true }));

  // Who is calling, and within its rate, is settled before the body is read (onRequest runs
  // before parsing): a stranger or a flood costs one indexed lookup, not a 64 MB parse.
  const callers = new WeakMap<object, { id: string; hostId: string }>();
  const authenticate = async (req: FastifyRequest) => {
    const token = bearerToken(req.headers.authorization);
    if (token === null)
      throw new TallyError('unauthorized', 'Authorization: Bearer <agent token> is required (`tally collector token issue <host-id>`)');
    const who = await verifyToken(o.db, token);
    if (!who.ok) throw new TallyError('unauthorized', `${who.reason}: ask the collector's admin for a new one`);
    const wait = buckets.take(who.id);
    if (wait > 0)
      throw new TallyError('queue_full', `rate limit for ${who.hostId}: retry in ${Math.ceil(wait / 1000)} s`, { retryAfterMs: wait });
    callers.set(req, { id: who.id, hostId: who.hostId });
  };
  app.post('/v1/records', { onRequest: authenticate }, async (req) => {
    const who = callers.get(req)!;
    const body = req.body as { text: string; value: unknown } | undefined;
    if (!body || typeof body.text !== 'string')
      throw new TallyError('invalid_input', 'send the records as application/json', { field: 'body' });
    const reply = await ingest(store, body, who.hostId, now());
    if (reply.rejected.length)
      log({ level: 'warn', msg: 'records refused', host: who.hostId, count: reply.rejected.length, first: reply.rejected[0]!.reason });
    return reply;
  });

  // Voids and amends from the agents, applied with their ids (corrections.ts).
  app.post('/v1/corrections', { onRequest: authenticate }, async (req) => {
    const body = req.body as { value: unknown } | undefined;
    return store.correct(callers.get(req)!.hostId, readCorrections(body?.value), now());
  });

  const address = await app.listen({ host: o.host ?? '127.0.0.1', port: o.port ?? 0 });
  const url = new URL(address);
  return {
    url: `${https ? 'https' : 'http'}://${url.host}`,
    server: app,
    close: () => app.close(),
  };
}
