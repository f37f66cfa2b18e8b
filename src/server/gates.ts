// The gates every request passes before a route: the Host header must be the agent's own address
// (DNS rebinding), a browser's Origin must be the agent's own origin (cross-site requests), and
// /v1, /api and /metrics need a credential: the admin token (Authorization: Bearer), the
// dashboard's session cookie, or a scoped API key (Bearer or X-API-Key) that may reach only the
// routes of its scope, for its own customer, at its own rate.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TallyError } from '../core/errors';
import type { ApiKeysTable } from '../storage/schema';
import { errorBody, retryAfterSeconds } from './errors';
import { readCookie, sameSecret } from './auth';
import type { RateLimiter } from './ratelimit';

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'";

const NEEDS_AUTH = /^\/(?:v1|api)(?:[/?]|$)|^\/metrics(?:\?|$)/;

/** What the gates compare against; hosts and port are known only once the server listens. */
export interface GateState {
  readonly token: string;
  /** The cookie carries its own secret, not the token: a leaked cookie dies with this process. */
  readonly session: string;
  port: number;
  hosts: Set<string>;
  origins: Set<string>;
  /** A presented scoped key → its stored row (revoked ones included), or undefined. */
  readonly findKey: (key: string) => ApiKeysTable | undefined;
  /** Dashboard sessions opened with a read key: cookie secret → the key's hash (its row is re-read each time). */
  readonly keySessions: Map<string, string>;
  readonly findKeyByHash: (hash: string) => ApiKeysTable | undefined;
  readonly limiter: RateLimiter;
  /** Requests per minute for keys without a rate of their own. */
  readonly defaultRate: number;
}

/** Who made a request that passed the gates: the admin (token or cookie) or a scoped key. */
export type Principal = { readonly kind: 'admin' } | { readonly kind: 'key'; readonly key: ApiKeysTable };

const ADMIN: Principal = { kind: 'admin' };
const principals = new WeakMap<FastifyRequest, Principal>();

export function principalOf(req: FastifyRequest): Principal {
  return principals.get(req) ?? ADMIN;
}

/** What each scope may reach, by method and matched route. */
const SCOPE_ROUTES: Record<ApiKeysTable['scope'], ReadonlySet<string>> = {
  ingest: new Set(['POST /v1/events', 'POST /api/v1/events']),
  // The typed contract and the event stream serve a read key's dashboard (scope.ts narrows the calls).
  read: new Set([
    'GET /v1/report',
    'GET /v1/events',
    'GET /v1/events/:id',
    'GET /api/v1/events',
    'POST /api/call/:name',
    'GET /api/events',
    'GET /api/session',
  ]),
};

/**
 * The customer a request may see: a key's own (asking for another is 403), or for the admin
 * whatever was asked (undefined: all customers).
 */
export function scopedCustomer(req: FastifyRequest, asked: string | undefined, field = 'customer'): string | undefined {
  const p = principalOf(req);
  if (p.kind === 'admin') return asked;
  if (asked !== undefined && asked !== p.key.customer_id) {
    throw new TallyError('forbidden', `${field}: this API key belongs to another customer`, { field });
  }
  return p.key.customer_id;
}

export const cookieName = (port: number) => `tally_session_${port}`;

/**
 * Decided on the route the router matched, not on the raw URL: the router decodes %-escapes,
 * so "/%61pi/call/x" reaches /api/call/:name. Unmatched paths are checked raw and decoded.
 */
export function needsAuth(req: FastifyRequest): boolean {
  const route = req.routeOptions.url;
  if (route !== undefined && route !== '/*') return NEEDS_AUTH.test(route);
  if (NEEDS_AUTH.test(req.url)) return true;
  try {
    return NEEDS_AUTH.test(decodeURIComponent(req.url));
  } catch {
    return true; // a malformed escape: treat as protected
  }
}

const refuse = (reply: FastifyReply, status: number, body: unknown) => reply.code(status).send(body);

/** Host, Origin and Sec-Fetch-Site; true when the request was refused. */
function refusedAsForeign(req: FastifyRequest, reply: FastifyReply, gate: GateState, protectedRoute: boolean): boolean {
  const hostHeader = (req.headers.host ?? '').toLowerCase();
  if (!gate.hosts.has(hostHeader)) {
    const hint = `use 127.0.0.1:${gate.port} or localhost:${gate.port}`;
    refuse(reply, 403, errorBody('forbidden', `host: "${hostHeader.slice(0, 100)}" is not this agent's address (${hint})`, 'host'));
    return true;
  }
  const origin = req.headers.origin;
  if (origin !== undefined && !gate.origins.has(origin.toLowerCase())) {
    const message = `origin: "${origin.slice(0, 100)}" may not call this agent (cross-origin requests are refused)`;
    refuse(reply, 403, errorBody('forbidden', message, 'origin'));
    return true;
  }
  // Another port on localhost is "same-site" to a browser (and gets SameSite=Strict cookies):
  // only the agent's own pages, or no browser at all, may call the API. A link from
  // elsewhere may still open the dashboard page itself.
  const fetchSite = req.headers['sec-fetch-site'];
  if ((fetchSite === 'cross-site' || fetchSite === 'same-site') && (protectedRoute || req.method !== 'GET')) {
    refuse(reply, 403, errorBody('forbidden', `sec-fetch-site: ${fetchSite} requests are refused`, 'sec-fetch-site'));
    return true;
  }
  return false;
}

/** A scoped key: revoked → 401, over its rate → 429, outside its scope → 403; true when refused. */
function refusedForKey(req: FastifyRequest, reply: FastifyReply, gate: GateState, key: ApiKeysTable): boolean {
  if (key.revoked_at !== null) {
    reply.header('www-authenticate', 'Bearer error="invalid_token"');
    refuse(reply, 401, errorBody('unauthorized', `authorization: API key ${key.id} was revoked`, 'authorization'));
    return true;
  }
  const rate = key.rate_per_minute ?? gate.defaultRate;
  const waitMs = gate.limiter.take(key.id, rate);
  if (waitMs > 0) {
    reply.header('retry-after', retryAfterSeconds(waitMs));
    refuse(reply, 429, errorBody('queue_full', `rate: API key ${key.id} may make ${rate} requests per minute; retry later`, 'rate'));
    return true;
  }
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  if (!SCOPE_ROUTES[key.scope].has(`${method} ${req.routeOptions.url ?? ''}`)) {
    const allowed = [...SCOPE_ROUTES[key.scope]].join(', ');
    refuse(
      reply,
      403,
      errorBody(
        'forbidden',
        `authorization: ${key.scope === 'ingest' ? 'an' : 'a'} ${key.scope} key may only call ${allowed}`,
        'authorization',
      ),
    );
    return true;
  }
  principals.set(req, { kind: 'key', key });
  return false;
}

/** The admin token, a scoped key or the session cookie; true when the request was refused. */
function refusedAsUnknown(req: FastifyRequest, reply: FastifyReply, gate: GateState): boolean {
  const auth = req.headers.authorization;
  const apiKey = req.headers['x-api-key'];
  if (typeof apiKey === 'string') {
    // The second seed sends every credential this way, the admin's included.
    if (sameSecret(apiKey.trim(), gate.token)) return false;
    const key = gate.findKey(apiKey.trim());
    if (key) return refusedForKey(req, reply, gate, key);
    refuse(reply, 401, errorBody('unauthorized', 'x-api-key: unknown API key (tally keys list shows the ids of valid ones)', 'x-api-key'));
    return true;
  }
  if (auth !== undefined) {
    // Auth schemes are case-insensitive (RFC 7235 §2.1): "bearer", "BEARER" and "Bearer" alike.
    const bearer = /^bearer[ \t]+/i.exec(auth);
    const given = bearer ? auth.slice(bearer[0].length).trim() : '';
    if (given !== '' && sameSecret(given, gate.token)) return false;
    const key = given === '' ? undefined : gate.findKey(given);
    if (key) return refusedForKey(req, reply, gate, key);
    reply.header('www-authenticate', 'Bearer error="invalid_token"');
    const message = 'authorization: wrong token or API key (the admin token is in agent.token beside the database)';
    refuse(reply, 401, errorBody('unauthorized', message, 'authorization'));
    return true;
  }
  const cookie = readCookie(req.headers.cookie, cookieName(gate.port));
  if (cookie !== undefined && sameSecret(cookie, gate.session)) return false;
  const keyOfSession = cookie === undefined ? undefined : gate.keySessions.get(cookie);
  const sessionKey = keyOfSession === undefined ? undefined : gate.findKeyByHash(keyOfSession);
  if (sessionKey) return refusedForKey(req, reply, gate, sessionKey);
  reply.header('www-authenticate', 'Bearer');
  const message =
    'authorization: missing token: send "Authorization: Bearer <token>" (the token is in agent.token beside the database), or open the dashboard link the agent printed';
  refuse(reply, 401, errorBody('unauthorized', message, 'authorization'));
  return true;
}

/** Security headers, then Host/Origin, then the credential; true when the request may go on. */
function passesGates(req: FastifyRequest, reply: FastifyReply, gate: GateState): boolean {
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('content-security-policy', CSP);
  const protectedRoute = needsAuth(req);
  if (refusedAsForeign(req, reply, gate, protectedRoute)) return false;
  if (protectedRoute && refusedAsUnknown(req, reply, gate)) return false;
  return true;
}

export function installGates(app: FastifyInstance, gate: GateState): void {
  app.addHook('onRequest', (req, reply, done) => {
    if (passesGates(req, reply, gate)) done();
  });
}

/**
 * Fastify's `frameworkErrors`: a URL its router cannot read (a broken %-escape) is answered before
 * any hook runs, with its own body echoing the path and none of our headers. It passes the same
 * gates first, then gets our error shape.
 */
export function routerErrorHandler(gate: GateState): (error: FastifyError, req: FastifyRequest, reply: FastifyReply) => void {
  return (error, req, reply) => {
    if (!passesGates(req, reply, gate)) return;
    const problem =
      error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? 'has a path segment too long to be an id or a name'
        : 'is not a valid URL (a broken %-escape)';
    void reply.code(400).send(errorBody('invalid_input', `path: ${problem}`, 'path'));
  };
}
