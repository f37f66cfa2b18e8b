// tally backup while the agent writes (online backup, verified), tally restore refused while an
// agent holds the database, and a restore that installs the backup and keeps what it replaced.
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireWriterLock, type WriterLock } from '../../src/storage/lock';
import { tallyAsync as tally, tally as tallySync } from '../helpers/cli';
import { tempDir } from '../helpers/db';
import { apiEvent, postEvents, startAgent, type TestAgent } from '../server/agent';

function count(file: string): number {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM usage_records').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('tally backup and restore', () => {
  let agent: TestAgent;
  let lock: WriterLock;
  let env: Record<string, string>;
  const out = path.join(tempDir('tally-backup-'), 'backup.db');

  beforeAll(async () => {
    agent = await startAgent();
    lock = acquireWriterLock(agent.dbFile, 'tally agent (test)');
    env = { TALLY_DB: agent.dbFile };
    for (let i = 0; i < 20; i++)
      await postEvents(
        agent,
        Array.from({ length: 500 }, () => apiEvent()),
      );
  });

  afterAll(async () => {
    lock.release();
    await agent.stop();
  });

  it('backs up while the agent keeps writing: a verified, self-contained copy', async () => {
    const before = agent.rows();
    let writing = true;
    const writer = (async () => {
      while (writing)
        await postEvents(
          agent,
          Array.from({ length: 200 }, () => apiEvent()),
        );
    })();
    const r = await tally(['backup', '--out', out, '--json'], env);
    writing = false;
    await writer;
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { records: number; integrity: string; file: string };
    expect(result.integrity).toBe('ok');
    expect(result.records).toBeGreaterThanOrEqual(before);
    expect(result.records).toBeLessThanOrEqual(agent.rows());
    expect(count(out)).toBe(result.records);
    expect(fs.existsSync(`${out}-wal`)).toBe(false);
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    const check = new BetterSqlite3(out, { readonly: true });
    expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    check.close();
  });

  it('an existing file is not replaced without --force', async () => {
    const r = await tally(['backup', '--out', out], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/out: .* exists; add --force/);
  });

  it('restore is refused while an agent holds the database, naming it; nothing changes', async () => {
    const rows = agent.rows();
    const r = await tally(['restore', out], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/in use by another writer: pid \d+ .*tally agent \(test\)/);
    expect(agent.rows()).toBe(rows);
  });
});

describe('tally restore with no agent running', () => {
  it('installs the backup and keeps the replaced database; a damaged file is refused', () => {
    const dir = tempDir('tally-restore-');
    const env = { TALLY_DB: path.join(dir, 'tally.db'), TALLY_NOW: '2026-11-22T12:00:00Z' };
    for (let i = 0; i < 3; i++) expect(tallySync(['record', 'api', '1', '{"endpoint":"/","method":"GET"}'], env).code).toBe(0);
    const backup = path.join(dir, 'three.db');
    expect(tallySync(['backup', '--out', backup], env).code).toBe(0);
    for (let i = 0; i < 2; i++) expect(tallySync(['record', 'api', '1', '{"endpoint":"/","method":"GET"}'], env).code).toBe(0);
    expect(count(env.TALLY_DB)).toBe(5);

    const damaged = path.join(dir, 'damaged.db');
    fs.writeFileSync(damaged, Buffer.alloc(8192, 0x41));
    const refused = tallySync(['restore', damaged], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/damaged/);
    expect(count(env.TALLY_DB)).toBe(5);

    const r = tallySync(['restore', backup, '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { records: number; previous: string };
    expect(result.records).toBe(3);
    expect(count(env.TALLY_DB)).toBe(3);
    expect(count(result.previous)).toBe(5);
    // The restored database is a working one.
    expect(tallySync(['record', 'api', '1', '{"endpoint":"/","method":"GET"}'], env).code).toBe(0);
    expect(count(env.TALLY_DB)).toBe(4);
  });
});
