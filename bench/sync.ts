// npm run bench:sync — records/s from agents to a loopback collector on PostgreSQL, against the
// server's limit, in one run on one server: (1) one agent syncing BENCH_SYNC_RECORDS records,
// (2) three agents syncing at once, (3) a plain COPY of the one agent's rows into the same
// usage_records table (no validation, no rollups, no HTTP), as the limit; prints the ratio.
// The collector runs as `tally collector serve` in its own process; the agents' sync workers
// run in this process. PostgreSQL runs with its default durability (fsync on).
import { spawn } from 'node:child_process';
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

const N = Number(process.env.BENCH_SYNC_RECORDS ?? 200_000);
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

async function timeSync(agents: Array<{ tdb: TallyDb; token: string }>, url: string): Promise<number> {
  const started = performance.now();
  const results = await Promise.all(
    agents.map(({ tdb, token }) =>
      new SyncEngine({ outbox: new SqliteOutbox(tdb.sqlite), timeoutMs: 120_000, backoff: { baseMs: 100, maxMs: 1000 } }).syncTarget(
        resolveTarget({ name: 'central', kind: 'tally', url, token, batchSize: BATCH }, 'settings'),
      ),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  for (const r of results) if (r.status !== 'idle') throw new Error(`sync did not finish: ${JSON.stringify(r)}`);
  return seconds;
}

const csvField = (v: unknown) => (v === null ? '' : typeof v === 'string' ? `"${v.replace(/"/g, '""')}"` : String(v));

async function main() {
  console.log(`bench:sync — ${N} records per agent, batches of ${BATCH}, on ${os.cpus().length} CPUs`);
  const pg = await startPostgres({ fsync: true });
  const collectorProc = { stop: () => undefined as void };
  try {
    const url = await pg.createDatabase('bench_sync');
    const c = openCollectorDb(url);
    await migrateCollector(c.pool);
    await ensureCollectorServices(c.db, Date.now());

    // BENCH_SYNC_PROF_DIR=/tmp/x writes a CPU profile of the collector process there.
    const prof = process.env.BENCH_SYNC_PROF_DIR ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_SYNC_PROF_DIR] : [];
    const proc = spawn(
      process.execPath,
      [...prof, 'bin/tally.mjs', 'collector', 'serve', '--pg', url, '--port', '0', '--rate', '100000', '--burst', '100000'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    collectorProc.stop = () => void proc.kill('SIGTERM');
    const collectorUrl = await new Promise<string>((resolve, reject) => {
      let out = '';
      proc.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      proc.once('exit', (code) => reject(new Error(`collector exited ${code}`)));
    });

    process.stdout.write('preparing agent databases… ');
    const one = await agentDb('bench-one', N, 1);
    const three = await Promise.all([2, 3, 4].map((s) => agentDb(`bench-three-${s}`, N, s)));
    console.log('done');
    const token = async (host: string) => (await issueToken(c.db, host, Date.now())).token;

    const oneSeconds = await timeSync([{ tdb: one, token: await token('bench-one') }], collectorUrl);
    const oneRate = N / oneSeconds;
    console.log(`one agent:     ${N} records in ${oneSeconds.toFixed(2)} s = ${Math.round(oneRate).toLocaleString('en')} records/s`);

    const threeAgents = await Promise.all(three.map(async (tdb, i) => ({ tdb, token: await token(`bench-three-${i + 2}`) })));
    const threeSeconds = await timeSync(threeAgents, collectorUrl);
    const threeRate = (3 * N) / threeSeconds;
    console.log(
      `three agents:  ${3 * N} records in ${threeSeconds.toFixed(2)} s = ${Math.round(threeRate).toLocaleString('en')} records/s`,
    );

    // The limit: the one agent's rows again, by COPY into the same table (after removing them).
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
    const copyStart = performance.now();
    try {
      await pipeline(
        Readable.from(csv),
        client.query(
          copyFrom(
            'COPY usage_records (id, recorded_at, customer_id, user_id, host_id, service, quantity, unit_price, cost_nanos, metadata, source, received_at) FROM STDIN WITH (FORMAT csv)',
          ),
        ),
      );
    } finally {
      client.release();
    }
    const copySeconds = (performance.now() - copyStart) / 1000;
    const copyRate = rows.length / copySeconds;
    console.log(
      `PostgreSQL COPY of the same rows into usage_records: ${copySeconds.toFixed(2)} s = ${Math.round(copyRate).toLocaleString('en')} records/s`,
    );
    console.log(`ratio: one agent ${(oneRate / copyRate).toFixed(2)} × COPY, three agents ${(threeRate / copyRate).toFixed(2)} × COPY`);
    console.log(`target ≥ 50 000 records/s for one agent: ${oneRate >= 50_000 ? 'met' : 'NOT met'}`);
    await one.close();
    for (const t of three) await t.close();
    await c.close();
  } finally {
    collectorProc.stop();
    await new Promise((r) => setTimeout(r, 500));
    await pg.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
