// npm run bench:sync — records/s from agents to a loopback collector on PostgreSQL, against the
// server's limit, in one run on one server, for two ingest paths of the PostgreSQL store (every
// batch through the staging table, TALLY_COLLECTOR_DIRECT=0, as the before; a COPY straight into
// usage_records first, the default): (1) one agent syncing BENCH_SYNC_RECORDS (or BENCH_RECORDS)
// records, (2) three agents syncing at once, (3) a plain COPY of the one agent's rows into the same
// usage_records table (no validation, no rollups, no HTTP), as the limit; prints each ratio with the
// load average, and issue 14's row (the default path, one agent, vs that COPY) through bench/rows.ts.
// Each path has its own collector process and database; the agents' sync workers run in this
// process, profiled during both one-agent runs (the outbox read's and the request building's
// share of the sync's time). PostgreSQL runs with its default durability (fsync on). Each run's
// CPU is also read from /proc for the agents (this process), the collector and every PostgreSQL
// process, and printed per 1000 records beside COPY's (server and client): wall time on a shared
// 2-core machine moves with other load, the CPU a record costs much less.
import { spawn, type ChildProcess } from 'node:child_process';
import { Session } from 'node:inspector/promises';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { openDatabase, type TallyDb } from '../src/storage/open';
import { SqliteOutbox } from '../src/sync/store';
import { SyncEngine } from '../src/sync/worker';
import { BatchedWriter } from '../src/storage/writer';
import { migrateCollector, openCollectorDb } from '../src/collector/db';
import { ensureCollectorServices } from '../src/collector/report';
import { issueToken } from '../src/collector/tokens';
import { demoRecords } from '../src/core/demo';
import { ensureBuiltins } from '../src/storage/repos/services';
import { resolveTarget } from '../src/core/sync/targets';
import { startPostgres } from '../test/helpers/postgres';
import { machine, ratio, reportRow } from './rows';

const N = Number(process.env.BENCH_SYNC_RECORDS ?? process.env.BENCH_RECORDS ?? 200_000);
const BATCH = Number(process.env.BENCH_SYNC_BATCH ?? 10_000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-bench-sync-'));

async function agentDb(hostId: string, count: number, seed: number): Promise<TallyDb> {
  const tdb = openDatabase(path.join(dir, `${hostId}.db`));
  await ensureBuiltins(tdb.db, Date.now());
  const writer = await BatchedWriter.open(tdb, { hostId, defaultCustomerId: 'acme', batchSize: 10_000, maxQueue: 2_000_000 });
  let n = 0;
  for (const r of demoRecords({ days: 30, end: Date.now() - 3_600_000, scale: 4, seed })) {
    writer.add({ ...r, customerId: `cust-${n % 50}` });
    if (++n === count) break;
    if (n % 50_000 === 0) await writer.flush();
  }
  await writer.close();
  return tdb;
}

const load = () => `load ${os.loadavg()[0]!.toFixed(2)}`;
const rate = (n: number, s: number) => `${n} records in ${s.toFixed(2)} s = ${Math.round(n / s).toLocaleString('en')} records/s`;

/** CPU milliseconds this process spent inside outbox reads, per agent database (process.cpuUsage around each read). */
const readCpu = new Map<TallyDb, number>();

/** The agent's outbox, its reads' CPU added to readCpu: the profile's share is wall time, which grows with other load. */
class TimedOutbox extends SqliteOutbox {
  constructor(private readonly tdb: TallyDb) {
    super(tdb.sqlite);
  }
  private timed<T>(read: () => Promise<T>): Promise<T> {
    const before = process.cpuUsage();
    const result = read();
    const spent = process.cpuUsage(before);
    readCpu.set(this.tdb, (readCpu.get(this.tdb) ?? 0) + (spent.user + spent.system) / 1000);
    return result;
  }
  override wireBatch(after: number, limit: number) {
    return this.timed(() => super.wireBatch(after, limit));
  }
  override batch(after: number, limit: number) {
    return this.timed(() => super.batch(after, limit));
  }
}

async function timeSync(agents: Array<{ tdb: TallyDb; token: string }>, url: string, target: string): Promise<number> {
  const started = performance.now();
  const results = await Promise.all(
    agents.map(({ tdb, token }) =>
      new SyncEngine({ outbox: new TimedOutbox(tdb), timeoutMs: 120_000, backoff: { baseMs: 100, maxMs: 1000 } }).syncTarget(
        resolveTarget({ name: target, kind: 'tally', url, token, batchSize: BATCH }, 'settings'),
      ),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  for (const r of results) if (r.status !== 'idle') throw new Error(`sync did not finish: ${JSON.stringify(r)}`);
  return seconds;
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string }; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
}

// Agent-side work by the functions on the stack: the outbox read (SqliteOutbox.wireBatch or batch, with
// better-sqlite3's read and toSyncRecord) and the request building (the native adapter's body).
const PARTS: Record<string, readonly string[]> = { 'outbox read': ['batch', 'wireBatch', 'toSyncRecord'], 'request building': ['body'] };

/** Milliseconds of this process's CPU per part, of all its CPU (not idle), from a CPU profile. */
function profileShares(p: CpuProfile): { busy: number; parts: Record<string, number> } {
  const parent = new Map<number, number>();
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const parts: Record<string, number> = Object.fromEntries(Object.keys(PARTS).map((k) => [k, 0]));
  let busy = 0;
  p.samples.forEach((id, i) => {
    const ms = (p.timeDeltas[i] ?? 0) / 1000;
    if (byId.get(id)!.callFrame.functionName === '(idle)') return;
    busy += ms;
    const names = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) names.add(byId.get(n)!.callFrame.functionName);
    for (const [part, fns] of Object.entries(PARTS)) if (fns.some((f) => names.has(f))) parts[part]! += ms;
  });
  return { busy, parts };
}

async function profiled<T>(run: () => Promise<T>): Promise<{ result: T; profile: CpuProfile }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  const result = await run();
  const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
  session.disconnect();
  return { result, profile };
}

// CPU time by process from /proc (clock ticks of 10 ms): less sensitive to other load on the
// machine than wall time, so each path's cost per record can be compared with COPY's.
const ticks = (pid: number, withChildren = false): number => {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12]) + (withChildren ? Number(f[13]) + Number(f[14]) : 0)) * 10;
  } catch {
    return 0; // exited
  }
};
/** All of the PostgreSQL server's CPU so far: the postmaster, its exited children and its live ones. */
function postgresCpu(postmaster: number): number {
  let ms = ticks(postmaster, true);
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]!.split(' ')[1] === String(postmaster)) ms += ticks(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return ms;
}
const selfCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
interface Cpu {
  agent: number;
  collector: number;
  postgres: number;
}
/** CPU milliseconds spent by each side during `run`. */
async function cpuOf<T>(postmaster: number, collector: number | undefined, run: () => Promise<T>): Promise<{ result: T; cpu: Cpu }> {
  const before = { agent: selfCpu(), collector: collector ? ticks(collector) : 0, postgres: postgresCpu(postmaster) };
  const result = await run();
  const cpu = {
    agent: selfCpu() - before.agent,
    collector: collector ? ticks(collector) - before.collector : 0,
    postgres: postgresCpu(postmaster) - before.postgres,
  };
  return { result, cpu };
}
const perK = (ms: number, n: number) => `${((1000 * ms) / n).toFixed(1)}`;

const csvField = (v: unknown) => (v === null ? '' : typeof v === 'string' ? `"${v.replace(/"/g, '""')}"` : String(v));

/** `tally collector serve` on `url`, TALLY_COLLECTOR_DIRECT as given; resolves to its URL and pid. */
async function serve(url: string, direct: boolean, procs: ChildProcess[]): Promise<{ url: string; pid: number }> {
  // BENCH_SYNC_PROF_DIR=/tmp/x writes a CPU profile of each collector process there (and of the
  // agent's one-agent syncs, agent-<target>.cpuprofile).
  const prof = process.env.BENCH_SYNC_PROF_DIR ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_SYNC_PROF_DIR] : [];
  const proc = spawn(
    process.execPath,
    [...prof, 'bin/tally.mjs', 'collector', 'serve', '--pg', url, '--port', '0', '--rate', '100000', '--burst', '100000'],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TALLY_COLLECTOR_DIRECT: direct ? '1' : '0' } },
  );
  procs.push(proc);
  return new Promise<{ url: string; pid: number }>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve({ url: m[1]!, pid: proc.pid! });
    });
    proc.once('exit', (code) => reject(new Error(`collector exited ${code}`)));
  });
}

/** The one agent's rows by a plain COPY into `c`'s usage_records (after removing them there). */
async function copyLimit(c: ReturnType<typeof openCollectorDb>, one: TallyDb, postmaster: number): Promise<{ seconds: number; cpu: Cpu }> {
  const rows = one.sqlite
    .prepare(
      'SELECT id, recorded_at, customer_id, user_id, host_id, service, quantity, unit_price, cost_nanos, metadata, source FROM usage_records ORDER BY seq',
    )
    .raw()
    .all() as unknown[][];
  const now = Date.now();
  const csv = rows.map((r) => [...r, now].map(csvField).join(',') + '\n');
  await c.pool.query("DELETE FROM usage_records WHERE host_id = 'bench-one'");
  await c.pool.query('VACUUM usage_records');
  const client = await c.pool.connect();
  try {
    const { result: seconds, cpu } = await cpuOf(postmaster, undefined, async () => {
      const started = performance.now();
      await pipeline(
        Readable.from(csv),
        client.query(
          copyFrom(
            'COPY usage_records (id, recorded_at, customer_id, user_id, host_id, service, quantity, unit_price, cost_nanos, metadata, source, received_at) FROM STDIN WITH (FORMAT csv)',
          ),
        ),
      );
      return (performance.now() - started) / 1000;
    });
    return { seconds, cpu };
  } finally {
    client.release();
  }
}

async function main() {
  console.log(`bench:sync — ${N} records per agent, batches of ${BATCH}, on ${os.cpus().length} CPUs, ${load()}`);
  const pg = await startPostgres({ fsync: true });
  const procs: ChildProcess[] = [];
  try {
    const paths = [
      { name: 'staging table (before)', direct: false, target: 'central-staging' },
      { name: 'direct COPY (default)', direct: true, target: 'central-direct' },
    ];
    const open = await Promise.all(
      paths.map(async (p) => {
        const url = await pg.createDatabase(p.direct ? 'bench_sync_direct' : 'bench_sync_staging');
        const c = openCollectorDb(url);
        await migrateCollector(c.pool);
        await ensureCollectorServices(c.db, Date.now());
        const served = await serve(url, p.direct, procs);
        return {
          ...p,
          c,
          url: served.url,
          pid: served.pid,
          seconds: { one: 0, three: 0 },
          cpu: null as Cpu | null,
          cpu3: null as Cpu | null,
        };
      }),
    );

    const dataDir = (await open[0]!.c.pool.query<{ data_directory: string }>('SHOW data_directory')).rows[0]!.data_directory;
    const postmaster = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.stdout.write('preparing agent databases… ');
    const one = await agentDb('bench-one', N, 1);
    const three = await Promise.all([2, 3, 4].map((s) => agentDb(`bench-three-${s}`, N, s)));
    console.log('done');

    // Interleaved (before, after, before, after) so both paths see the same load.
    // Both one-agent runs under the same CPU profiler (the same overhead for both).
    const shares = new Map<string, ReturnType<typeof profileShares>>();
    const readMs = new Map<string, number>();
    for (const p of open) {
      const token = (await issueToken(p.c.db, 'bench-one', Date.now())).token;
      readCpu.set(one, 0);
      const measured = await cpuOf(postmaster, p.pid, () => profiled(() => timeSync([{ tdb: one, token }], p.url, p.target)));
      readMs.set(p.name, readCpu.get(one)!);
      const { result, profile } = measured.result;
      p.cpu = measured.cpu;
      p.seconds.one = result;
      shares.set(p.name, profileShares(profile));
      if (process.env.BENCH_SYNC_PROF_DIR)
        fs.writeFileSync(path.join(process.env.BENCH_SYNC_PROF_DIR, `agent-${p.target}.cpuprofile`), JSON.stringify(profile));
      console.log(`${p.name}, one agent:    ${rate(N, p.seconds.one)} (${load()})`);
    }
    for (const p of open) {
      const agents = await Promise.all(
        three.map(async (tdb, i) => ({ tdb, token: (await issueToken(p.c.db, `bench-three-${i + 2}`, Date.now())).token })),
      );
      const m3 = await cpuOf(postmaster, p.pid, () => timeSync(agents, p.url, p.target));
      p.seconds.three = m3.result;
      p.cpu3 = m3.cpu;
      console.log(`${p.name}, three agents: ${rate(3 * N, p.seconds.three)} (${load()})`);
    }

    const after = open.find((p) => p.direct)!;
    const copied = await copyLimit(after.c, one, postmaster);
    const copySeconds = copied.seconds;
    const copyRate = N / copySeconds;
    console.log(`PostgreSQL COPY of the same rows into usage_records: ${rate(N, copySeconds)} (${load()})`);
    for (const p of open) {
      console.log(
        `ratio, ${p.name}: one agent ${(N / p.seconds.one / copyRate).toFixed(2)} × COPY, three agents ${((3 * N) / p.seconds.three / copyRate).toFixed(2)} × COPY`,
      );
    }
    const before = open.find((p) => !p.direct)!;
    console.log(
      `direct COPY vs staging table: one agent ${(before.seconds.one / after.seconds.one).toFixed(2)}×, three agents ${(before.seconds.three / after.seconds.three).toFixed(2)}×`,
    );
    for (const p of open) {
      const { busy, parts } = shares.get(p.name)!;
      const pct = (ms: number) => `${((100 * ms) / (p.seconds.one * 1000)).toFixed(1)} %`;
      const list = Object.entries(parts).map(([part, ms]) => `${part} ${Math.round(ms)} ms = ${pct(ms)}`);
      console.log(`agent process, ${p.name} one-agent sync (CPU profile, of its wall time): busy ${pct(busy)}; ${list.join(', ')}`);
      const ms = readMs.get(p.name)!;
      console.log(`  its outbox reads' own CPU (process.cpuUsage around each): ${Math.round(ms)} ms = ${pct(ms)} of the sync's wall time`);
    }
    for (const p of open) {
      const r = await p.c.pool.query<{ deadlocks: string }>(
        'SELECT deadlocks::text FROM pg_stat_database WHERE datname = current_database()',
      );
      console.log(`${p.name}: ${r.rows[0]!.deadlocks} deadlocks in its database (each one a batch stored again)`);
    }
    const total = (c: Cpu) => c.agent + c.collector + c.postgres;
    for (const p of open) {
      const c = p.cpu!;
      console.log(
        `CPU per 1000 records, ${p.name}, one agent (/proc): agent ${perK(c.agent, N)} ms (profiled), collector ${perK(c.collector, N)} ms, PostgreSQL ${perK(c.postgres, N)} ms, total ${perK(total(c), N)} ms = ${(total(c) / total(copied.cpu)).toFixed(2)} × COPY's`,
      );
    }
    for (const p of open) {
      const c = p.cpu3!;
      console.log(
        `CPU per 1000 records, ${p.name}, three agents (/proc): agents ${perK(c.agent, 3 * N)} ms, collector ${perK(c.collector, 3 * N)} ms, PostgreSQL ${perK(c.postgres, 3 * N)} ms, total ${perK(total(c), 3 * N)} ms = ${(total(c) / 3 / total(copied.cpu)).toFixed(2)} × COPY's`,
      );
    }
    console.log(
      `CPU per 1000 records, COPY: PostgreSQL ${perK(copied.cpu.postgres, N)} ms, client ${perK(copied.cpu.agent, N)} ms, total ${perK(total(copied.cpu), N)} ms`,
    );
    const oneRate = N / after.seconds.one;
    reportRow({
      what: 'sync to the PostgreSQL collector vs a COPY of the same rows',
      value: ratio(oneRate, copyRate),
      detail: `one agent ${Math.round(oneRate)} records/s vs COPY ${Math.round(copyRate)} records/s; three agents ${ratio((3 * N) / after.seconds.three, copyRate)}; CPU per record ${(total(after.cpu!) / total(copied.cpu)).toFixed(2)}× COPY's; staging table one agent ${ratio(N / before.seconds.one, copyRate)}; ${N} records, batches of ${BATCH}; ${machine()}`,
      target: '≥ 0.8×',
      met: oneRate / copyRate >= 0.8,
    });
    // The agent's side of the default path: its outbox reads and request building, of the sync's wall time.
    const agentSide = shares.get(after.name)!;
    const agentMs = agentSide.parts['outbox read']! + agentSide.parts['request building']!;
    const share = agentMs / (after.seconds.one * 1000);
    reportRow({
      what: "sync: the agent's outbox read and request building, of the sync's time",
      value: `${(100 * share).toFixed(1)} %`,
      detail: `${Math.round(agentMs)} ms of ${Math.round(after.seconds.one * 1000)} ms in the one-agent sync's CPU profile (wall time); the reads' own CPU ${Math.round(readMs.get(after.name)!)} ms = ${((100 * readMs.get(after.name)!) / (after.seconds.one * 1000)).toFixed(1)} %`,
      target: '< 10 %',
      met: share < 0.1,
    });
    await one.close();
    for (const t of three) await t.close();
    for (const p of open) await p.c.close();
  } finally {
    for (const proc of procs) proc.kill('SIGTERM');
    await Promise.all(procs.map((proc) => (proc.exitCode === null ? new Promise((r) => proc.once('exit', r)) : null)));
    await pg.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
