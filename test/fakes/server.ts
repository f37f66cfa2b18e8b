// A tiny HTTP server for the vendor fakes: real sockets on 127.0.0.1, one handler, and a queue of
// faults to play before the next requests (a status with a body, or a hang).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export interface FakeReply {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

export type Fault = FakeReply | 'hang';

export interface FakeServer {
  readonly url: string;
  readonly requests: FakeRequest[];
  /** Plays these answers (instead of the real handler) for the next requests, in order. */
  fault(...faults: Fault[]): void;
  close(): Promise<void>;
}

/** A handler may answer 'hang': the request is taken and never answered (a lost reply). */
export async function startFake(handle: (req: FakeRequest) => FakeReply | 'hang'): Promise<FakeServer> {
  const requests: FakeRequest[] = [];
  const faults: Fault[] = [];
  const hung: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const fr: FakeRequest = {
        method: req.method ?? '',
        path: (req.url ?? '').split('?')[0]!,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(fr);
      const fault = faults.shift();
      if (fault === 'hang') return void hung.push(res);
      const reply = fault ?? handle(fr);
      if (reply === 'hang') return void hung.push(res);
      const body = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    fault: (...f) => void faults.push(...f),
    async close() {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

export function bearer(req: FakeRequest): string | null {
  const m = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''));
  return m ? m[1]! : null;
}
