// The browser dashboard: the built renderer's files, its index page for the single-page app's
// paths, and "/?token=…", which trades the token for an HttpOnly session cookie (as Jupyter does);
// "/?key=…" does the same for a read key, opening a dashboard of that key's customer only.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { newSecret, sameSecret } from '../auth';
import { errorBody } from '../errors';
import { cookieName, needsAuth, principalOf, type GateState } from '../gates';
import { findStatic } from '../static';

function placeholderPage(title: string, text: string): string {
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tally: ${esc(title)}</title></head><body><h1>${esc(title)}</h1><p>${esc(text)}</p></body></html>`;
}

/**
 * The built renderer sits beside the CLI bundle (dist/ → ../out/renderer) wherever the agent
 * was started from (a system service starts in /); the working directory is the fallback.
 */
function staticRootOf(staticDir: string | undefined): string | undefined {
  if (staticDir !== undefined) return fs.existsSync(staticDir) ? path.resolve(staticDir) : undefined;
  return [fileURLToPath(new URL('../out/renderer', import.meta.url)), path.resolve('out/renderer')].find((d) => fs.existsSync(d));
}

const MAX_KEY_SESSIONS = 1000;

/** "/?key=…": a read key's link opens the dashboard of its customer, on a cookie of its own. */
function openKeySession(reply: FastifyReply, gate: GateState, given: unknown) {
  const key = typeof given === 'string' ? gate.findKey(given) : undefined;
  if (!key || key.revoked_at !== null || key.scope !== 'read') {
    const text = 'This link does not carry a valid read key. Ask for a new one (tally keys create --scope read).';
    return reply.code(401).type('text/html; charset=utf-8').send(placeholderPage('Wrong key', text));
  }
  const secret = newSecret();
  if (gate.keySessions.size >= MAX_KEY_SESSIONS) gate.keySessions.delete(gate.keySessions.keys().next().value!);
  gate.keySessions.set(secret, key.key_hash);
  reply.header('set-cookie', `${cookieName(gate.port)}=${secret}; HttpOnly; SameSite=Strict; Path=/`);
  reply.header('cache-control', 'no-store');
  return reply.redirect('/', 302);
}

export function dashboardRoutes(app: FastifyInstance, gate: GateState, staticDir: string | undefined): void {
  const staticRoot = staticRootOf(staticDir);

  const sendStatic = async (reply: FastifyReply, urlPath: string): Promise<boolean> => {
    const found = staticRoot !== undefined ? await findStatic(staticRoot, urlPath) : null;
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

  // Who this dashboard is for: the admin, or one customer through a read key (no settings, no picker).
  app.get('/api/session', async (req) => {
    const p = principalOf(req);
    return p.kind === 'admin' ? { scope: 'admin' } : { scope: p.key.scope, customer: p.key.customer_id };
  });

  if (staticRoot !== undefined) {
    app.get('/*', async (req, reply) => {
      if (await sendStatic(reply, req.url)) return reply;
      return reply.callNotFound();
    });
  }

  app.get('/', async (req: FastifyRequest<{ Querystring: { token?: string; key?: string } }>, reply) => {
    if (req.query.key !== undefined) return openKeySession(reply, gate, req.query.key);
    const given = req.query.token;
    if (given !== undefined) {
      if (typeof given !== 'string' || !sameSecret(given, gate.token)) {
        const text =
          'This link does not carry the agent’s current token. Open the link the agent printed, or see agent.token beside the database.';
        return reply.code(401).type('text/html; charset=utf-8').send(placeholderPage('Wrong token', text));
      }
      reply.header('set-cookie', `${cookieName(gate.port)}=${gate.session}; HttpOnly; SameSite=Strict; Path=/`);
      reply.header('cache-control', 'no-store');
      return reply.redirect('/', 302);
    }
    if (await sendStatic(reply, '/index.html')) return reply;
    const text = 'The dashboard is not built here (npm run build:ui). The API is at /v1 and /api.';
    return reply.type('text/html; charset=utf-8').send(placeholderPage('Tally agent', text));
  });
}
