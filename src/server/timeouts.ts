// Slow clients cannot hold connections: a request body must arrive within a bound or the client
// gets 408 and the connection closes. (Fastify's requestTimeout did not cut a body trickled
// after the headers in our measurements: a client sending one byte every 5 s held a connection
// for over 100 s.) Sockets idle between requests are closed by Fastify's connectionTimeout.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { errorBody } from './errors';

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

interface Pending {
  readonly res: ServerResponse;
  readonly until: number;
}

/**
 * The body timeout is checked by one sweep, not by a timer and two listeners per request: the
 * sweep runs every eighth of the timeout while requests are reading their bodies, so a trickled
 * body is cut between `ms` and `ms` plus an eighth. A request leaves the list when it is answered
 * with its body complete, or at the next sweep once its body is complete or its connection gone.
 */
export function installBodyTimeout(app: FastifyInstance, ms: number, idleMs?: number): void {
  if (idleMs !== undefined) {
    // The idle timeout is for connections with nothing in flight: a request the agent is working
    // on (sync.now waits up to 10 minutes) or an event stream is not idle. Node asks the server
    // before it closes a connection that timed out: one with a response under way is kept (the
    // timer starts again); any other is closed, as Node would have.
    app.server.on('timeout', (socket: Socket) => {
      const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
      if (inFlight && !inFlight.writableFinished) socket.setTimeout(idleMs);
      else socket.destroy();
    });
  }
  const pending = new Map<IncomingMessage, Pending>();
  const step = Math.max(1, Math.floor(ms / 8));
  let timer: NodeJS.Timeout | null = null;
  const sweep = (): void => {
    timer = null;
    const now = performance.now();
    for (const [raw, p] of pending) {
      if (raw.complete || raw.destroyed) pending.delete(raw);
      else if (p.until <= now) {
        pending.delete(raw);
        refuseTrickled(raw, p.res, ms);
      }
    }
    if (pending.size > 0) timer = setTimeout(sweep, step).unref();
  };
  app.addHook('onRequest', (req, reply, done) => {
    const raw = req.raw;
    if (raw.complete || !hasBody(raw)) return done();
    pending.set(raw, { res: reply.raw, until: performance.now() + ms });
    timer ??= setTimeout(sweep, step).unref();
    done();
  });
  app.addHook('onResponse', (req, _reply, done) => {
    // An answer given before its body arrived (a refusal) leaves the request listed: a body still
    // not complete when the time is up closes the connection.
    // (The idle timer after an answer is Node's keep-alive timeout, set to idleMs: server.ts.)
    if (req.raw.complete) pending.delete(req.raw);
    done();
  });
}

function refuseTrickled(raw: IncomingMessage, res: ServerResponse, ms: number): void {
  if (res.headersSent) return void raw.socket.destroy();
  const body = errorBody('invalid_input', `body: not received within ${Math.round(ms / 1000)} s; send the whole request at once`, 'body');
  res.writeHead(408, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
  // The client gets the answer first; then the connection goes, with whatever it still sends.
  res.end(JSON.stringify(body), () => raw.socket.destroy());
}

/** Past this, a refused body is not read any further: the 413 goes at once and the connection closes. */
export const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;

/**
 * Reads and discards a body refused as too large (up to a bound) before the 413 is sent, so a
 * client that writes its whole body before reading gets the answer instead of a broken pipe.
 * Answering and closing at once broke the pipe under Python's http.client in 12 of 12 runs
 * (10 MB; it sends "Connection: close", so the server closes right after answering). A client
 * that stops sending is cut by the body timeout (installBodyTimeout).
 */
export function drainRefusedBody(raw: IncomingMessage, limit = DRAIN_LIMIT_BYTES): Promise<void> {
  return new Promise((resolve) => {
    const declared = Number(raw.headers['content-length']);
    if (raw.complete || (Number.isFinite(declared) && declared > limit)) return resolve();
    let seen = 0;
    const done = () => {
      raw.off('data', onData);
      resolve();
    };
    const onData = (d: Buffer) => {
      seen += d.length;
      if (seen > limit) done();
    };
    raw.on('data', onData);
    raw.once('end', done);
    raw.once('close', done);
    raw.once('error', done);
    raw.resume();
  });
}
