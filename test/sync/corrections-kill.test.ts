// Exactly once through a SIGKILL: `tally sync --once` delivers 20 voids to the strict Stripe fake
// (v1), which applies the 8th cancellation but never answers it; the process is killed with
// SIGKILL while it waits. The next run sends that one again under the same Idempotency-Key
// (Stripe replays its answer) and the rest once: every event is cancelled exactly once and every
// correction is settled once.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/storage/open';
import { voidRecord } from '../../src/storage/corrections';
import { startStripeFake, type StripeFake } from '../fakes/stripe';
import { tempDir, testDb, testWriter } from '../helpers/db';

const dir = tempDir('tally-corr-kill-');
const db = path.join(dir, 'tally.db');
const env = {
  PATH: process.env.PATH ?? '',
  HOME: dir,
  TALLY_CONFIG: path.join(dir, 'none.json'),
  TALLY_DB: db,
  TALLY_NO_AGENT: '1',
};
let stripe: StripeFake;

/** `tally …` in a child process; async, because the fake answers from this process's event loop. */
function run(args: string[]): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(process.execPath, [path.resolve('bin/tally.mjs'), ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.once('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stderr });
    }),
  );
}

beforeAll(async () => {
  stripe = await startStripeFake();
});
afterAll(() => stripe.close());

describe('corrections through a SIGKILL of the sync', () => {
  it('cancels each voided event at Stripe exactly once', async () => {
    const tdb = await testDb(db);
    let writer = await testWriter(tdb);
    const ids = (
      await writer.recordMany(
        Array.from({ length: 20 }, () => ({
          service: 'api',
          quantity: 1,
          customerId: 'acme',
          metadata: { endpoint: '/k', method: 'GET' },
        })),
      )
    ).map((s) => s.id);
    await writer.close();
    await tdb.close();
    expect(
      (await run(['sync', 'target', 'add', 'stripe', '--kind', 'stripe', '--url', stripe.url, '--token', 'sk_test_tally'])).status,
    ).toBe(0);
    expect((await run(['sync', '--once'])).status).toBe(0);
    expect(stripe.events.size).toBe(20);

    const again = openDatabase(db);
    writer = await testWriter(again);
    for (const id of ids) await voidRecord(writer, { id, reason: 'duplicate import', actor: 'admin' });
    await writer.close();
    await again.close();

    stripe.stallAfter(7);
    const child = spawn(process.execPath, [path.resolve('bin/tally.mjs'), 'sync', '--once'], { env, stdio: 'ignore' });
    for (let i = 0; i < 600 && stripe.cancels < 8; i++) await new Promise((r) => setTimeout(r, 50));
    expect(stripe.cancels).toBe(8); // the 8th was applied, its answer never came
    process.kill(child.pid!, 'SIGKILL');
    await new Promise((r) => child.once('exit', r));

    stripe.stallAfter(null);
    const done = await run(['sync', '--once']);
    expect(done.status, done.stderr).toBe(0);
    expect(stripe.cancels).toBe(20);
    expect([...stripe.cancelled].sort()).toEqual([...ids].sort());
    const adjustments = stripe.requests.filter((r) => r.path === '/v1/billing/meter_event_adjustments');
    expect(adjustments).toHaveLength(21); // the 8th twice: applied once, replayed once
    const check = openDatabase(db, { readonly: true });
    const rows = check.sqlite.prepare("SELECT state, count(*) AS n FROM sync_corrections WHERE target = 'stripe' GROUP BY state").all();
    await check.close();
    expect(rows).toEqual([{ state: 'delivered', n: 20 }]);
  });
});
