// Restart persistence on a real database: the last readings live in collector_state, so a new
// runner (a restarted agent) neither double-counts nor drops a delta, and records left pending by
// an interrupted run are delivered exactly once.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBandwidthCollector } from '../../src/collectors/bandwidth';
import { defaultCollectorsConfig } from '../../src/collectors/config';
import { CollectorRunner } from '../../src/collectors/runner';
import { CollectorStateRepo } from '../../src/collectors/state';
import { createStorageCollector } from '../../src/collectors/storage';
import { nodeWalkFs, type WalkFs } from '../../src/collectors/walk';
import { silentLogger, type Logger } from '../../src/agent/log';
import { openDatabase, type TallyDb } from '../../src/storage/open';
import { tempDir, testDb, testWriter } from '../helpers/db';

const fixtures = path.join(__dirname, '../fixtures/proc');

function procRoot(): string {
  const root = path.join(tempDir(), 'proc');
  fs.cpSync(path.join(fixtures, 'root'), root, { recursive: true });
  return root;
}

function addTraffic(root: string, rx: number): void {
  const file = path.join(root, 'net/dev');
  fs.writeFileSync(
    file,
    fs.readFileSync(file, 'utf8').replace(/eth0:\s+(\d+)/, (_m, n: string) => `eth0: ${Number(n) + rx}`),
  );
}

function ingress(tdb: TallyDb): number[] {
  return tdb.sqlite.prepare(`SELECT quantity FROM usage_records WHERE service = 'bandwidth' ORDER BY seq`).pluck().all() as number[];
}

function capture(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const push = (level: string) => (msg: string, f?: Record<string, unknown>) =>
    void lines.push(`${level} ${msg} ${JSON.stringify(f ?? {})}`);
  return { lines, debug: push('debug'), info: push('info'), warn: push('warn'), error: push('error') };
}

describe('collector runner', () => {
  it('continues from the persisted readings after a restart: no double count, no lost delta', async () => {
    const proc = procRoot();
    const file = path.join(tempDir(), 'tally.db');
    let mono = 1_000;
    const clocks = { monoMs: () => mono, wallMs: () => Date.now() };
    const collector = () => createBandwidthCollector(defaultCollectorsConfig().bandwidth, { paths: { proc, sys: proc }, clocks });

    let tdb = await testDb(file);
    let writer = await testWriter(tdb);
    let runner = new CollectorRunner(collector(), { writer, state: new CollectorStateRepo(tdb.sqlite), log: silentLogger });
    expect(await runner.run()).toEqual({ ok: true, records: 0 });
    addTraffic(proc, 1_000);
    mono += 60_000;
    expect(await runner.run()).toEqual({ ok: true, records: 1 });
    await writer.close();
    await tdb.close();

    // Traffic while the agent is down, then a new process on the same database.
    addTraffic(proc, 500);
    mono += 60_000;
    tdb = openDatabase(file);
    writer = await testWriter(tdb);
    runner = new CollectorRunner(collector(), { writer, state: new CollectorStateRepo(tdb.sqlite), log: silentLogger });
    await runner.run();
    addTraffic(proc, 250);
    mono += 60_000;
    await runner.run();
    expect(ingress(tdb)).toEqual([1_000, 500, 250]);
    await writer.close();
    await tdb.close();
  });

  it('records of a run whose commit did not happen are re-sent once by the next run', async () => {
    const proc = procRoot();
    let mono = 1_000;
    const clocks = { monoMs: () => mono, wallMs: () => Date.now() };
    const tdb = await testDb();
    const state = new CollectorStateRepo(tdb.sqlite);
    const collector = createBandwidthCollector(defaultCollectorsConfig().bandwidth, { paths: { proc, sys: proc }, clocks });
    const log = capture();

    const first = await testWriter(tdb);
    await new CollectorRunner(collector, { writer: first, state, log }).run();
    // The writer goes away mid-life (a crash between saving state and the commit looks the same).
    await first.close();
    addTraffic(proc, 4_000);
    mono += 60_000;
    const failed = await new CollectorRunner(collector, { writer: first, state, log }).run();
    expect(failed.ok).toBe(false);
    expect(ingress(tdb)).toEqual([]);
    expect(log.lines.some((l) => l.startsWith('error collector failed'))).toBe(true);
    expect(Array.isArray(state.load('bandwidth').pending)).toBe(true);

    const second = await testWriter(tdb);
    const runner = new CollectorRunner(collector, { writer: second, state, log });
    addTraffic(proc, 10);
    mono += 60_000;
    await runner.run();
    await runner.run();
    expect(ingress(tdb)).toEqual([4_000, 10]);
    expect(state.load('bandwidth').pending).toBeUndefined();
    await second.close();
    await tdb.close();
  });

  it('a collector that throws is counted and logged; the next run works', async () => {
    const proc = procRoot();
    const tdb = await testDb();
    const writer = await testWriter(tdb);
    const log = capture();
    const runner = new CollectorRunner(createBandwidthCollector(defaultCollectorsConfig().bandwidth, { paths: { proc, sys: proc } }), {
      writer,
      state: new CollectorStateRepo(tdb.sqlite),
      log,
    });
    const good = fs.readFileSync(path.join(proc, 'net/dev'), 'utf8');
    fs.writeFileSync(path.join(proc, 'net/dev'), 'not the file\n');
    expect((await runner.run()).ok).toBe(false);
    expect(runner.stats.errors).toBe(1);
    expect(log.lines.join('\n')).toMatch(/error collector failed .*missing the two header lines/);
    fs.writeFileSync(path.join(proc, 'net/dev'), good);
    expect((await runner.run()).ok).toBe(true);
    await writer.close();
    await tdb.close();
  });

  it('stopping interrupts a storage walk: nothing is stored and the state stays at the last complete run', async () => {
    const data = path.join(tempDir(), 'data');
    fs.mkdirSync(data);
    for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(data, `f${i}`), 'x');
    let mono = 1_000;
    let entered: () => void = () => undefined;
    const walking = new Promise<void>((r) => (entered = r));
    // Each stat waits a little: the walk is still going when stop() arrives.
    const slow: WalkFs = {
      readdir: nodeWalkFs.readdir,
      lstat: (p) => (entered(), new Promise((r) => setTimeout(r, 20)).then(() => nodeWalkFs.lstat(p))),
    };
    const tdb = await testDb();
    const writer = await testWriter(tdb);
    const state = new CollectorStateRepo(tdb.sqlite);
    const settings = { schedule: '* * * * *', paths: [data], volumes: [], maxGapSeconds: 180, concurrency: 1 };
    const collector = createStorageCollector(settings, { fs: slow, clocks: { monoMs: () => mono, wallMs: () => Date.now() } });
    const runner = new CollectorRunner(collector, { writer, state, log: silentLogger });
    await runner.run(); // baseline: no walk
    const before = state.load('storage');
    mono += 60_000;
    const run = runner.run();
    await walking;
    runner.stop();
    expect(await run).toEqual({ ok: false, error: 'interrupted' });
    expect(state.load('storage')).toEqual(before);
    expect(tdb.sqlite.prepare('SELECT count(*) FROM usage_records').pluck().get()).toBe(0);
    expect(await runner.run()).toEqual({ ok: false, skipped: true });
    await writer.close();
    await tdb.close();
  });
});
