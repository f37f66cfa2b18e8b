// A real agent for HTTP tests: a temp SQLite file, the batched writer, and the HTTP server on
// 127.0.0.1 with an OS-chosen port. `raw()` speaks plain HTTP so tests can send any Host,
// Origin or body, including ones fetch() would refuse to send.
import http from 'node:http';
import path from 'node:path';
import { EventBus, type AgentContext } from '../../src/handlers/context';
import { createHandlers } from '../../src/handlers/handlers';
import { defaults, type Config } from '../../src/config/config';
import type { TallyDb } from '../../src/storage/open';
import { startHttpServer, type HttpServer, type HttpServerOptions } from '../../src/server/server';
import type { BatchedWriter, WriterOptions } from '../../src/storage/writer';
import { tempDir, testDb, testWriter } from '../helpers/db';

export interface TestAgent {
  readonly dir: string;
  readonly dbFile: string;
  readonly tdb: TallyDb;
  readonly writer: BatchedWriter;
  readonly ctx: AgentContext;
  readonly server: HttpServer;
  readonly logs: object[];
  rows(): number;
  stop(): Promise<void>;
}

export async function startAgent(
  o: {
    writer?: Partial<WriterOptions>;
    http?: Partial<Config['http']>;
    server?: HttpServerOptions;
    handlers?: Parameters<typeof startHttpServer>[1];
    dir?: string;
  } = {},
): Promise<TestAgent> {
  const dir = o.dir ?? tempDir('tally-http-');
  const dbFile = path.join(dir, 'tally.db');
  const tdb = await testDb(dbFile);
  const writer = await testWriter(tdb, { batchSize: 1000, batchTimeoutMs: 50, ...o.writer });
  const base = defaults({});
  const config: Config = {
    ...base,
    db: dbFile,
    writer: { ...base.writer, maxQueue: o.writer?.maxQueue ?? base.writer.maxQueue },
    http: { ...base.http, port: 0, ...o.http },
  };
  const ctx: AgentContext = { config, tdb, writer, events: new EventBus(), now: Date.now };
  const logs: object[] = [];
  const server = await startHttpServer(ctx, o.handlers ?? createHandlers(ctx), {
    log: (l) => logs.push(l),
    staticDir: path.join(dir, 'no-ui'),
    ...o.server,
  });
  return {
    dir,
    dbFile,
    tdb,
    writer,
    ctx,
    server,
    logs,
    rows: () => (tdb.sqlite.prepare('SELECT count(*) AS n FROM usage_records').get() as { n: number }).n,
    async stop() {
      await server.close();
      await writer.close().catch(() => undefined);
      await tdb.close();
    },
  };
}

export interface RawResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
  json<T = Record<string, unknown>>(): T;
}

/** One request over plain HTTP: every header as given (Host included). */
export function raw(
  url: string,
  method: string,
  pathname: string,
  o: { headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<RawResponse> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path: pathname, headers: { host: u.host, ...o.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: <T>() => JSON.parse(text) as T });
      });
      res.on('error', reject);
    });
    // The agent may answer (413) and close before a large body is fully sent.
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    if (o.body !== undefined) req.end(o.body);
    else req.end();
  });
}

/** POST JSON with the agent's token. */
export function postEvents(agent: TestAgent, body: unknown, contentType = 'application/json'): Promise<RawResponse> {
  return raw(agent.server.url, 'POST', '/v1/events', {
    headers: { authorization: `Bearer ${agent.server.token}`, 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export const apiEvent = (extra: Record<string, unknown> = {}) => ({
  service: 'api',
  quantity: 1,
  metadata: { endpoint: '/users', method: 'GET', status: 200 },
  ...extra,
});
