// Slow clients cannot hold connections: a request body must arrive within a bound or the client
// gets 408 and the connection closes. (Fastify's requestTimeout did not cut a body trickled
// after the headers in our measurements: a client sending one byte every 5 s held a connection
// for over 100 s.) Idle sockets are closed by Fastify's connectionTimeout (server.ts).
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { errorBody } from './errors';

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

export function installBodyTimeout(app: FastifyInstance, ms: number): void {
  app.addHook('onRequest', (req, reply, done) => {
    const raw = req.raw;
    if (raw.complete || !hasBody(raw)) return done();
    const timer = setTimeout(() => {
      if (raw.complete) return;
      const res = reply.raw;
      if (res.headersSent) return void raw.socket.destroy();
      const body = errorBody(
        'invalid_input',
        `body: not received within ${Math.round(ms / 1000)} s; send the whole request at once`,
        'body',
      );
      res.writeHead(408, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
      // The client gets the answer first; then the connection goes, with whatever it still sends.
      res.end(JSON.stringify(body), () => raw.socket.destroy());
    }, ms);
    timer.unref();
    const clear = () => clearTimeout(timer);
    raw.once('end', clear);
    raw.once('close', clear);
    done();
  });
}
