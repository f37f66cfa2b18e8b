// Operations fixes seen by a black-box tester: restore refuses a file with no Tally schema,
// doctor probes a Stripe v1 target, and sync's backoff leaves no abort listener behind.
import { getEventListeners } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { ResolvedTarget } from '../../src/core/sync/targets';
import { syncUntilDone } from '../../src/sync/run';
import type { PassResult, SyncEngine } from '../../src/sync/worker';
import { startStripeFake } from '../fakes/stripe';
import { tally, tallyAsync } from '../helpers/cli';
import { tempDir } from '../helpers/db';

const RECORD = ['record', 'api', '1', '{"endpoint":"/","method":"GET"}'];

function count(file: string): number {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM usage_records').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('tally restore of a file that is not a backup', () => {
  it('an empty file or another program’s database is refused naming file; the database stays as it was', () => {
    const dir = tempDir('tally-restore-empty-');
    const env = { TALLY_DB: path.join(dir, 'demo.db'), TALLY_NOW: '2026-11-22T12:00:00Z' };
    for (let i = 0; i < 2; i++) expect(tally(RECORD, env).code).toBe(0);
    const empty = path.join(dir, 'empty.db');
    fs.writeFileSync(empty, '');
    const foreign = path.join(dir, 'foreign.db');
    new BetterSqlite3(foreign).exec('CREATE TABLE notes (t TEXT)').close();
    for (const file of [empty, foreign]) {
      const r = tally(['restore', file], env);
      expect(r.code, r.stdout).toBe(1);
      expect(r.stderr.trim()).toBe(`tally: file: ${file} is not a Tally backup (it has no Tally schema)`);
      expect(count(env.TALLY_DB)).toBe(2);
    }
    expect(fs.readdirSync(dir).filter((f) => f.includes('before-restore') || f.includes('.restore-'))).toEqual([]);
  });
});

describe('tally doctor with a Stripe v1 target', () => {
  it('probes the meter events endpoint with the key and records no event', async () => {
    const stripe = await startStripeFake({ secretKey: 'sk_test_doctor' });
    try {
      const env = { TALLY_DB: path.join(tempDir('tally-doctor-stripe-'), 'tally.db'), K: 'sk_test_doctor' };
      expect(tally(RECORD, env).code).toBe(0);
      const add = ['sync', 'target', 'add', 'st', '--kind', 'stripe', '--url', stripe.url, '--token-env', 'K'];
      expect(tally([...add, '--map-customer', 'acme=cus_123'], env).code).toBe(0);
      const good = await tallyAsync(['doctor'], env);
      expect(good.stdout).toMatch(/^ok {4}sync target st: 127\.0\.0\.1:\d+ reachable, credentials accepted \(400\)$/m);
      expect(stripe.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /v1/billing/meter_events']);
      expect(stripe.requests[0]!.headers.authorization).toBe('Bearer sk_test_doctor');
      expect(stripe.events.size).toBe(0);

      const bad = ['sync', 'target', 'add', 'bad', '--kind', 'stripe', '--url', stripe.url, '--token-env', 'K2'];
      expect(tally(bad, { ...env, K2: 'sk_test_wrong' }).code).toBe(0);
      const wrong = await tallyAsync(['doctor'], env);
      expect(wrong.code).toBe(1);
      expect(wrong.stdout).toMatch(/^FAIL {2}sync target bad: 127\.0\.0\.1:\d+ refused the credentials \(401\)/m);
    } finally {
      await stripe.close();
    }
  });
});

describe('sync --once through many backoffs', () => {
  it('leaves no abort listener on the signal after each backoff ends', async () => {
    let passes = 0;
    // A target that waits (a backoff of 1 ms) twenty times, then is done.
    const engine = {
      syncTarget: (t: ResolvedTarget): Promise<PassResult> =>
        Promise.resolve(
          ++passes < 20
            ? { target: t.name, status: 'waiting', until: Date.now() + 1, delivered: 0, rejected: 0 }
            : { target: t.name, status: 'idle', delivered: 0, rejected: 0 },
        ),
    } as unknown as SyncEngine;
    const signal = new AbortController().signal;
    const results = await syncUntilDone(engine, [{ name: 'st', enabled: true } as ResolvedTarget], { signal });
    expect(results.map((r) => r.status)).toEqual(['idle']);
    expect(passes).toBe(20);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });
});
