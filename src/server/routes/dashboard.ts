// The browser dashboard: the built renderer's files, its index page for the single-page app's
// paths, and "/?token=…", which trades the token for an HttpOnly session cookie (as Jupyter does).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sameSecret } from '../auth';
import { errorBody } from '../errors';
import { cookieName, needsAuth, type GateState } from '../gates';
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

  if (staticRoot !== undefined) {
    app.get('/*', async (req, reply) => {
      if (await sendStatic(reply, req.url)) return reply;
      return reply.callNotFound();
    });
  }

  app.get('/', async (req: FastifyRequest<{ Querystring: { token?: string } }>, reply) => {
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
