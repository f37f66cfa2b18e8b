// Honest exit codes: `tally sync --once` exits 1 naming the target and the reason when records
// stay undelivered (measured on main: exit 0 with a stopped target and 7 683 records pending);
// `tally export` refuses a database from a newer Tally like every other command.
import http from 'node:http';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tallyAsync as tally, tally as tallySync } from '../helpers/cli';
import { tempDir, testDb } from '../helpers/db';

const NOW = '2026-11-22T12:00:00Z';

describe('tally sync --once', () => {
  let server: http.Server;
  let url: string;
  beforeAll(async () => {
    // An endpoint that refuses the credentials: the target stops with every record pending.
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"bad token"}'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/v1/ingest`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('exits 1 naming the target and the reason when records stay undelivered', async () => {
    const env = { TALLY_DB: path.join(tempDir('tally-exit-'), 'tally.db'), TALLY_NOW: NOW };
    for (let i = 0; i < 3; i++) {
      expect((await tally(['record', 'api', '1', '{"endpoint":"/","method":"GET"}'], env)).code).toBe(0);
    }
    const add = await tally(['sync', 'target', 'add', 'billing', '--kind', 'tally', '--url', url, '--token', 'wrong'], env);
    expect(add.code, add.stderr).toBe(0);
    const run = await tally(['sync', '--once', '--timeout', '5'], env);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stderr).toMatch(/tally: sync: billing: records left undelivered \(stopped: .*401/);
    // Still 1 on the next run, while the target stays stopped.
    expect((await tally(['sync', '--once', '--timeout', '5'], env)).code).toBe(1);
  });
});

describe('tally export on a database from a newer Tally', () => {
  it('is refused (exit 1) like every other command', async () => {
    const db = path.join(tempDir('tally-future-'), 'tally.db');
    await (await testDb(db)).close();
    const raw = new BetterSqlite3(db);
    raw.prepare('INSERT INTO schema_migrations (id, name, applied_at) VALUES (9999, ?, 0)').run('from-the-future');
    raw.close();
    const env = { TALLY_DB: db, TALLY_NOW: NOW };
    for (const args of [
      ['export', 'csv', '--out', path.join(path.dirname(db), 'out.csv'), '--month', '2026-11'],
      ['report', '--month', '2026-11'],
    ]) {
      const r = tallySync(args, env);
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(/written by a newer Tally/);
    }
  });
});
