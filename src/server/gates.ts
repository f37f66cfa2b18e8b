// The gates every request passes before a route: the Host header must be the agent's own address
// (DNS rebinding), a browser's Origin must be the agent's own origin (cross-site requests), and
// /v1, /api and /metrics need the token (Authorization: Bearer) or the dashboard's session cookie.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './errors';
import { readCookie, sameSecret } from './auth';

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

/** The admin token or the session cookie; true when the request was refused. */
function refusedAsUnknown(req: FastifyRequest, reply: FastifyReply, gate: GateState): boolean {
  const auth = req.headers.authorization;
  if (auth !== undefined) {
    if (auth.startsWith('Bearer ') && sameSecret(auth.slice(7).trim(), gate.token)) return false;
    reply.header('www-authenticate', 'Bearer error="invalid_token"');
    const message = 'authorization: wrong token (the token is in agent.token beside the database)';
    refuse(reply, 401, errorBody('unauthorized', message, 'authorization'));
    return true;
  }
  const cookie = readCookie(req.headers.cookie, cookieName(gate.port));
  if (cookie !== undefined && sameSecret(cookie, gate.session)) return false;
  reply.header('www-authenticate', 'Bearer');
  const message =
    'authorization: missing token: send "Authorization: Bearer <token>" (the token is in agent.token beside the database), or open the dashboard link the agent printed';
  refuse(reply, 401, errorBody('unauthorized', message, 'authorization'));
  return true;
}

export function installGates(app: FastifyInstance, gate: GateState): void {
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('content-security-policy', CSP);
    const protectedRoute = needsAuth(req);
    if (refusedAsForeign(req, reply, gate, protectedRoute)) return;
    if (protectedRoute && refusedAsUnknown(req, reply, gate)) return;
    done();
  });
}
