// A full disk (issue 10 item 6), for real: the agent's database on a 3 MB tmpfs that a filler
// file fills. Requests are answered 503 + Retry-After (queued ones too, none left hanging),
// /healthz says why, every acknowledged record is there, and ingest resumes by itself once the
// filler is removed; a collector measuring meanwhile loses nothing and counts nothing twice.
// Mounting needs root: elsewhere the test is skipped, saying so.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { apiEvent, postEvents, raw, startAgent, type TestAgent } from '../server/agent';
import { tempDir } from '../helpers/db';
import { silentLogger } from '../../src/agent/log';
import { CollectorRunner } from '../../src/collectors/runner';
import { CollectorStateRepo } from '../../src/collectors/state';
import type { Collector } from '../../src/collectors/types';

function mountTmpfs(): string | null {
  if (process.getuid?.() !== 0) return null;
  const dir = tempDir('tally-full-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', dir], { stdio: 'pipe' });
    return dir;
  } catch {
    return null;
  }
}

const mnt = mountTmpfs();
const why = 'needs root and tmpfs mounts: run as root (CI does) to test ENOSPC';

afterAll(() => {
  if (mnt) execFileSync('umount', ['-l', mnt]);
});

/** Events of about 4 KB each, so a batch grows the database by hundreds of KB. */
const bigEvents = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => apiEvent({ metadata: { endpoint: `/${tag}/${i}`, method: 'GET', pad: 'x'.repeat(4000) } }));

describe.skipIf(mnt === null)(`a full disk ${mnt === null ? `(skipped: ${why})` : ''}`, () => {
  let agent: TestAgent;

  it('answers 503 with Retry-After at once, says why on /healthz, loses nothing acknowledged, and resumes when space returns', async () => {
    agent = await startAgent({ dir: mnt!, writer: { batchSize: 100, batchTimeoutMs: 20 } });
    // A counter collector: each run bills the counter's growth since the reading it last stored.
    let counter = 100;
    const meter: Collector = {
      name: 'bandwidth',
      schedule: '* * * * *',
      collect: async (previous) => {
        const last = previous.last as number | undefined;
        const records = last === undefined ? [] : [{ service: 'bandwidth', quantity: counter - last, metadata: { direction: 'ingress' } }];
        return { records, state: { last: counter }, notes: [] };
      },
    };
    const runner = new CollectorRunner(meter, { writer: agent.writer, state: new CollectorStateRepo(agent.tdb.sqlite), log: silentLogger });
    expect((await runner.run()).ok).toBe(true); // the baseline reading: 100
    const acknowledged: string[] = [];
    const post = async (tag: string) => {
      const started = performance.now();
      const res = await postEvents(agent, bigEvents(50, tag));
      if (res.status === 201 || res.status === 200) acknowledged.push(...res.json<{ ids: string[] }>().ids);
      return { res, ms: performance.now() - started };
    };
    expect((await post('first')).res.status).toBeLessThan(300);

    // Fill the disk, leaving less room than a few batches need.
    const filler = path.join(mnt!, 'filler');
    const free = fs.statfsSync(mnt!).bavail * fs.statfsSync(mnt!).bsize;
    fs.writeFileSync(filler, Buffer.alloc(Math.max(0, free - 256 * 1024)));

    let refused: Awaited<ReturnType<typeof post>> | null = null;
    for (let i = 0; i < 40 && refused === null; i++) {
      const r = await post(`fill${i}`);
      if (r.res.status >= 500) refused = r;
    }
    expect(refused, 'the disk never filled').not.toBeNull();
    expect([503, 507]).toContain(refused!.res.status);
    expect(Number(refused!.res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused!.res.json<{ error: { message: string } }>().error.message).toMatch(/disk .*full|cannot be written/);

    // While full, every request is answered (none waits behind a flush that cannot succeed).
    const burst = await Promise.all(Array.from({ length: 8 }, (_, i) => post(`burst${i}`)));
    for (const b of burst) expect([503, 507]).toContain(b.res.status);
    const health = await raw(agent.server.url, 'GET', '/healthz');
    expect(health.status).toBe(503);
    expect(health.json<{ storage: { kind: string } }>().storage.kind).toBe('full');
    expect(agent.writer.metrics.storageFailures).toBe(1);
    // The collector keeps measuring while nothing can be stored: its runs fail, its readings wait.
    counter = 250;
    expect((await runner.run()).ok).toBe(false);
    counter = 400;
    expect((await runner.run()).ok).toBe(false);
    // Measured, not asserted (no timing assertions in tests): how long a refusal took.
    console.info(`full disk: refused in ${refused!.ms.toFixed(0)} ms; burst of 8 in ${Math.max(...burst.map((b) => b.ms)).toFixed(0)} ms`);

    // Space returns: writing resumes by itself (the writer probes every second).
    fs.rmSync(filler);
    let healthy = false;
    for (let i = 0; i < 100 && !healthy; i++) {
      healthy = (await raw(agent.server.url, 'GET', '/healthz')).status === 200;
      if (!healthy) await new Promise((r) => setTimeout(r, 100));
    }
    expect(healthy).toBe(true);
    expect((await post('after')).res.status).toBeLessThan(300);
    // Nothing it measured while the disk was full is lost, nothing is counted twice: 600 − 100.
    counter = 600;
    expect((await runner.run()).ok).toBe(true);
    const billed = agent.tdb.sqlite.prepare("SELECT sum(quantity) FROM usage_records WHERE service = 'bandwidth'").pluck().get();
    expect(billed).toBe(500);

    // Every acknowledged record is stored, once; nothing refused was half-stored.
    const stored = new Set(agent.tdb.sqlite.prepare('SELECT id FROM usage_records').pluck().all() as string[]);
    for (const id of acknowledged) expect(stored.has(id)).toBe(true);
    expect(
      stored.size - (agent.tdb.sqlite.prepare("SELECT count(*) FROM usage_records WHERE service = 'bandwidth'").pluck().get() as number),
    ).toBe(acknowledged.length);
    await agent.stop();
  }, 60_000);
});
