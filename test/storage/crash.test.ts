// The durability promise: a record whose record() resolved survives kill -9 of the process,
// exactly once; the database stays intact and every rollup equals the sum of its raw records.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { build } from 'esbuild';
import BetterSqlite3 from 'better-sqlite3';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/db';

const KILLS = 12;
let childScript: string;
const dir = tempDir('tally-crash-');

beforeAll(async () => {
  // Inside the project so the bundle's bare imports (better-sqlite3, ulid) resolve.
  childScript = path.resolve('dist', `crash-child-${process.pid}.mjs`);
  await build({
    entryPoints: ['test/fixtures/crash-child.ts'],
    outfile: childScript,
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    loader: { '.sql': 'text' },
    logLevel: 'warning',
  });
});

afterAll(() => fs.rmSync(childScript, { force: true }));

/** Runs the child until it has acknowledged a random number of records, then SIGKILLs it. */
function runAndKill(dbPath: string, acked: Set<string>, round: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childScript, dbPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const target = 200 + ((round * 7919) % 1500); // a different moment in each round
    let seen = 0;
    let killed = false;
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line === 'ready' || line === '') return;
      acked.add(line);
      if (++seen >= target && !killed) {
        killed = true;
        // A few more ms of work in flight, so the kill lands mid-transaction as often as not.
        setTimeout(() => child.kill('SIGKILL'), (round * 13) % 17);
      }
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`child exited on its own (code ${code}): ${stderr}`));
    });
  });
}

describe('crash safety (kill -9 while ingesting)', () => {
  it(`keeps every acknowledged record exactly once across ${KILLS} kills, intact and with exact rollups`, async () => {
    const dbPath = path.join(dir, 'crash.db');
    const acked = new Set<string>();
    for (let round = 0; round < KILLS; round++) {
      await runAndKill(dbPath, acked, round);
      const db = new BetterSqlite3(dbPath);
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        // Every acknowledged id is there (UNIQUE(id) makes "at most once" structural; check it anyway).
        const present = db.prepare('SELECT id, count(*) AS n FROM usage_records GROUP BY id HAVING n > 1').all();
        expect(present).toEqual([]);
        const ids = new Set(db.prepare('SELECT id FROM usage_records').pluck().all() as string[]);
        const missing = [...acked].filter((id) => !ids.has(id));
        expect(missing, `round ${round}: acknowledged but missing`).toEqual([]);
      } finally {
        db.close();
      }
    }
    expect(acked.size).toBeGreaterThan(KILLS * 200);

    // Every rollup row equals the sum of its raw records, for all four periods.
    const db = new BetterSqlite3(dbPath, { readonly: true });
    const bucketSql: Record<string, string> = {
      hour: 'recorded_at - (recorded_at % 3600000)',
      day: 'recorded_at - (recorded_at % 86400000)',
      week: "CAST(strftime('%s', date(recorded_at / 1000, 'unixepoch', 'weekday 0', '-6 days')) AS INTEGER) * 1000",
      month: "CAST(strftime('%s', date(recorded_at / 1000, 'unixepoch', 'start of month')) AS INTEGER) * 1000",
    };
    for (const [period, bucket] of Object.entries(bucketSql)) {
      const raw = db
        .prepare(
          `SELECT ${bucket} AS b, customer_id, service, count(*) AS n, CAST(sum(quantity) AS TEXT) AS q, sum(cost_nanos) AS c
           FROM usage_records GROUP BY b, customer_id, service ORDER BY b, customer_id, service`,
        )
        .all() as Array<{ b: number; customer_id: string; service: string; n: number; q: string; c: number }>;
      const rolled = db
        .prepare(
          `SELECT bucket_start AS b, customer_id, service, event_count AS n, sum_quantity_hi AS hi, sum_quantity_lo AS lo, sum_cost_nanos AS c
           FROM rollups WHERE period = ? ORDER BY b, customer_id, service`,
        )
        .all(period) as Array<(typeof raw)[number] & { hi: number; lo: number }>;
      expect(
        rolled.map((r) => [r.b, r.customer_id, r.service, r.n, r.c]),
        period,
      ).toEqual(raw.map((r) => [r.b, r.customer_id, r.service, r.n, r.c]));
      // Quantities are integer units: the rollup's two limbs equal the raw sum exactly.
      expect(rolled.map((r) => (BigInt(r.hi) * 2n ** 32n + BigInt(r.lo)).toString())).toEqual(raw.map((r) => r.q));
    }
    db.close();
  }, 180_000);
});
