// npm run bench:collector — the collector's two stores, in one run on one machine:
// (1) both stores are filled with the month's other events, up to BENCH_COLLECTOR_REPORT_EVENTS
//     in all (bulk, server-side: INSERT … SELECT from generate_series / numbers(), rollups folded
//     as ingestion folds them), so ingestion pays for indexes and look-ups at a fleet's size;
// (2) ingest: three agents post the same BENCH_COLLECTOR_EVENTS records (native wire format,
//     batches of BENCH_COLLECTOR_BATCH, each agent one request at a time, the three at once) over
//     HTTP to `tally collector serve` on PostgreSQL, then to one on ClickHouse; events/s each and
//     the ratio (target: ClickHouse ≥ 3×);
// (3) the org-wide month report, median of 5, in each store; for ClickHouse also the ways to
//     count each id once over raw events (rollups / GROUP BY id / FINAL): the README's trade-off.
// PostgreSQL runs with fsync on; ClickHouse 18.16 does not fsync inserted parts (it has no setting
// for it); both on loopback, servers started from temp folders and stopped by pid.
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { monotonicFactory } from 'ulid';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { migrateCollector, openCollectorDb, type CollectorDb } from '../src/collector/db';
import { openClickHouseStore } from '../src/collector/open';
import { pgStore } from '../src/collector/pg-store';
import { collectorReport, ensureCollectorServices } from '../src/collector/report';
import type { CollectorStore } from '../src/collector/store';
import { issueToken } from '../src/collector/tokens';
import type { NativeRecord } from '../src/core/sync/native';
import { startClickHouse } from '../test/helpers/clickhouse';
import { startPostgres } from '../test/helpers/postgres';

const N = Number(process.env.BENCH_COLLECTOR_EVENTS ?? 600_000);
const BATCH = Number(process.env.BENCH_COLLECTOR_BATCH ?? 10_000);
const REPORT_N = Number(process.env.BENCH_COLLECTOR_REPORT_EVENTS ?? 10_000_000);
const AGENTS = 3;
const MONTH = { from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 11, 1) };
const SPAN = MONTH.to - MONTH.from;
const SERVICES = [
  { service: 'api', unitPrice: '0.0001', meta: { endpoint: '/v1/users', method: 'GET', status: 200 } },
  { service: 'database', unitPrice: '0.00001', meta: { type: 'SELECT', duration_ms: 3 } },
  { service: 'functions', unitPrice: '0.0002', meta: { function: 'sendEmail', duration_ms: 9 } },
] as const;

/** The request bodies of one agent: its share of the records, in time order, as JSON text. */
function agentBodies(agent: number, count: number): string[] {
  const ulid = monotonicFactory();
  const bodies: string[] = [];
  for (let start = 0; start < count; start += BATCH) {
    const records: NativeRecord[] = [];
    for (let n = start; n < Math.min(count, start + BATCH); n++) {
      const s = SERVICES[n % SERVICES.length]!;
      const at = MONTH.from + Math.floor((n / count) * (SPAN / 2)) + agent;
      const quantity = 1 + (n % 5);
      records.push({
        id: ulid(at),
        recordedAt: at,
        customerId: `cust-${(n * 7 + agent) % 50}`,
        userId: n % 3 ? `user-${n % 200}` : null,
        hostId: `bench-host-${agent}`,
        service: s.service,
        quantity,
        unitPrice: s.unitPrice,
        costNanos: Math.round(Number(s.unitPrice) * 1e9) * quantity,
        metadata: s.meta,
        source: 'bench',
      });
    }
    bodies.push(JSON.stringify({ records }));
  }
  return bodies;
}

async function serve(args: string[]): Promise<{ url: string; proc: ChildProcess }> {
  // BENCH_COLLECTOR_PROF_DIR=/tmp/x writes CPU profiles of the collector processes there.
  const prof = process.env.BENCH_COLLECTOR_PROF_DIR ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_COLLECTOR_PROF_DIR] : [];
  const proc = spawn(
    process.execPath,
    [...prof, 'bin/tally.mjs', 'collector', 'serve', '--port', '0', '--rate', '100000', '--burst', '100000', ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.once('exit', (code) => reject(new Error(`collector exited ${code}`)));
  });
  return { url, proc };
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  process.kill(proc.pid!, 'SIGTERM');
  await exited;
}

/** Three agents at once, each posting its batches one after another; returns seconds. */
async function ingest(url: string, tokens: string[], bodies: string[][]): Promise<number> {
  const started = performance.now();
  await Promise.all(
    bodies.map(async (mine, i) => {
      for (const body of mine) {
        const res = await fetch(`${url}/v1/records`, {
          method: 'POST',
          headers: { authorization: `Bearer ${tokens[i]}`, 'content-type': 'application/json' },
          body,
        });
        const reply = (await res.json()) as { inserted?: number };
        if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${JSON.stringify(reply)}`);
      }
    }),
  );
  return (performance.now() - started) / 1000;
}

async function median(fn: () => Promise<unknown>, runs = 5): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

/** Bulk rows for the month report, server-side, with the rollups folded as ingestion folds them. */
async function fillPg(c: CollectorDb, extra: number): Promise<void> {
  if (extra <= 0) return;
  await c.pool.query(`
    WITH ins AS (
      INSERT INTO usage_records (id, recorded_at, customer_id, user_id, host_id, service, quantity, unit_price, cost_nanos, metadata, source, received_at)
      SELECT 'FILL' || lpad(g::text, 22, '0'), ${MONTH.from} + (g::int8 * ${SPAN}) / ${extra}, 'cust-' || (g % 50), NULL, 'bench-fill',
        (ARRAY['api', 'database', 'functions'])[1 + g % 3], 1 + g % 5, '0.0001', 100000 * (1 + g % 5), '{}', 'bench', 0
      FROM generate_series(0, ${extra - 1}) g
      RETURNING recorded_at, customer_id, service, quantity, cost_nanos
    ), b AS (
      SELECT 'hour' AS period, recorded_at - recorded_at % 3600000 AS bucket_start, customer_id, service, quantity, cost_nanos FROM ins
      UNION ALL SELECT 'day', recorded_at - recorded_at % 86400000, customer_id, service, quantity, cost_nanos FROM ins
      UNION ALL SELECT 'month', ${MONTH.from}, customer_id, service, quantity, cost_nanos FROM ins
    )
    INSERT INTO rollups (period, bucket_start, customer_id, service, event_count, sum_quantity, sum_cost_nanos, min_quantity, max_quantity)
    SELECT period, bucket_start, customer_id, service, count(*), sum(quantity), sum(cost_nanos), min(quantity), max(quantity)
    FROM b GROUP BY 1, 2, 3, 4
    ON CONFLICT (period, bucket_start, customer_id, service) DO UPDATE SET
      event_count = rollups.event_count + excluded.event_count, sum_quantity = rollups.sum_quantity + excluded.sum_quantity,
      sum_cost_nanos = rollups.sum_cost_nanos + excluded.sum_cost_nanos`);
}

async function fillClickHouse(url: string, extra: number): Promise<void> {
  if (extra <= 0) return;
  const ch = createClient({ url, database: 'tally', request_timeout: 600_000, log: { level: ClickHouseLogLevel.OFF } });
  // The materialized views fold the rollups, as for ingested rows.
  await ch.command({
    query: `INSERT INTO events_local (id, recorded_at, customer_id, user_id, host_id, service, quantity, unit_price, cost_nanos, metadata, source, received_at)
      SELECT concat('FILL', toString(number)), ${MONTH.from} + intDiv(toInt64(number) * ${SPAN}, ${extra}), concat('cust-', toString(number % 50)), NULL, 'bench-fill',
        ['api', 'database', 'functions'][1 + number % 3], toDecimal128(1 + number % 5, 6), '0.0001', toInt64(100000 * (1 + number % 5)), '{}', 'bench', 0
      FROM system.numbers LIMIT ${extra}`,
    clickhouse_settings: { max_insert_block_size: '1048576' } as never,
  });
  await ch.close();
}

async function settle(c: CollectorDb, url: string): Promise<void> {
  await c.pool.query('VACUUM ANALYZE usage_records');
  await c.pool.query('VACUUM ANALYZE rollups');
  const ch = createClient({ url, database: 'tally', request_timeout: 1_200_000, log: { level: ClickHouseLogLevel.OFF } });
  await ch.command({ query: 'OPTIMIZE TABLE events_local FINAL' });
  await ch.command({ query: 'OPTIMIZE TABLE rollups_local FINAL' });
  await ch.close();
}

async function reportTimings(c: CollectorDb, pg: CollectorStore, chs: CollectorStore, chUrl: string): Promise<void> {
  const pgMs = await median(() => collectorReport(c.db, MONTH, Date.now(), pg));
  const chMs = await median(() => collectorReport(c.db, MONTH, Date.now(), chs));
  const a = await collectorReport(c.db, MONTH, Date.now(), pg);
  const b = await collectorReport(c.db, MONTH, Date.now(), chs);
  console.log(
    `month report (rollups): PostgreSQL ${pgMs.toFixed(1)} ms, ClickHouse ${chMs.toFixed(1)} ms; ${a.totalEvents.toLocaleString('en')} events, reports equal: ${JSON.stringify(a) === JSON.stringify(b)}`,
  );
  const ch = createClient({ url: chUrl, database: 'tally', request_timeout: 600_000, log: { level: ClickHouseLogLevel.OFF } });
  const range = `recorded_at >= ${MONTH.from} AND recorded_at < ${MONTH.to}`;
  const ways = {
    'rollups (materialized views)': `SELECT service, sum(event_count), toString(sum(sum_quantity)), sum(sum_cost_nanos) FROM rollups_local WHERE period = 'month' AND bucket_start >= ${MONTH.from} AND bucket_start < ${MONTH.to} GROUP BY service`,
    'raw, GROUP BY id': `SELECT s, count(), toString(sum(q)), sum(c) FROM (SELECT id, any(service) AS s, any(quantity) AS q, any(cost_nanos) AS c FROM events_local WHERE ${range} GROUP BY id) GROUP BY s`,
    'raw, FINAL': `SELECT service, count(), toString(sum(quantity)), sum(cost_nanos) FROM events_local FINAL WHERE ${range} GROUP BY service`,
    'raw, no dedupe (not exact)': `SELECT service, count(), toString(sum(quantity)), sum(cost_nanos) FROM events_local WHERE ${range} GROUP BY service`,
  };
  for (const [name, query] of Object.entries(ways)) {
    try {
      // GROUP BY id over millions of ids needs memory: let 18.16 spill to disk past 1 GB.
      const settings = { max_bytes_before_external_group_by: '1000000000', max_memory_usage: '4000000000' } as never;
      const ms = await median(async () => (await ch.query({ query, format: 'JSONEachRow', clickhouse_settings: settings })).json(), 3);
      console.log(`  ClickHouse month sums, ${name}: ${ms.toFixed(0)} ms`);
    } catch (err) {
      console.log(`  ClickHouse month sums, ${name}: failed (${(err as Error).message.slice(0, 120)})`);
    }
  }
  await ch.close();
}

async function main() {
  const per = Math.ceil(N / AGENTS);
  console.log(`bench:collector — ${per * AGENTS} events from ${AGENTS} agents in batches of ${BATCH}, on ${os.cpus().length} CPUs`);
  const [pgServer, chServer] = await Promise.all([startPostgres({ fsync: true }), startClickHouse()]);
  const procs: ChildProcess[] = [];
  try {
    const pgUrl = await pgServer.createDatabase('bench_collector');
    const c = openCollectorDb(pgUrl);
    await migrateCollector(c.pool);
    await ensureCollectorServices(c.db, Date.now());
    const chUrl = `${chServer.url}/tally`;
    const chs = await openClickHouseStore({ clickhouse: chUrl });
    const tokens = await Promise.all(
      Array.from({ length: AGENTS }, async (_, i) => (await issueToken(c.db, `bench-host-${i}`, Date.now())).token),
    );
    const bodies = Array.from({ length: AGENTS }, (_, i) => agentBodies(i, per));

    // Both stores first hold the month's other events (a fleet's collector is not empty), so
    // ingestion pays for the indexes and look-ups at that size.
    const pg = pgStore(c);
    const fill = Math.max(0, REPORT_N - per * AGENTS);
    process.stdout.write(`filling both stores with ${fill.toLocaleString('en')} other events of the month… `);
    let t = performance.now();
    await fillPg(c, fill);
    const pgFill = (performance.now() - t) / 1000;
    t = performance.now();
    await fillClickHouse(chServer.url, fill);
    // Steady state before timing: merged parts in ClickHouse, fresh statistics in PostgreSQL.
    await settle(c, chServer.url);
    console.log(`done (PostgreSQL ${pgFill.toFixed(0)} s, ClickHouse ${((performance.now() - t) / 1000).toFixed(0)} s)`);

    const rates: Record<string, number> = {};
    for (const [name, args] of [
      ['PostgreSQL', ['--pg', pgUrl]],
      ['ClickHouse', ['--pg', pgUrl, '--store', 'clickhouse', '--clickhouse', chUrl]],
    ] as const) {
      const { url, proc } = await serve([...args]);
      procs.push(proc);
      const seconds = await ingest(url, tokens, bodies);
      rates[name] = (per * AGENTS) / seconds;
      console.log(
        `${name.padEnd(10)} store: ${per * AGENTS} events in ${seconds.toFixed(2)} s = ${Math.round(rates[name]!).toLocaleString('en')} events/s`,
      );
      await stop(proc);
    }
    const ratio = rates.ClickHouse! / rates.PostgreSQL!;
    console.log(`ratio ClickHouse / PostgreSQL: ${ratio.toFixed(2)}× (target ≥ 3×: ${ratio >= 3 ? 'met' : 'NOT met'})`);
    await reportTimings(c, pg, chs, chServer.url);
    await chs.close();
    await c.close();
  } finally {
    for (const p of procs) await stop(p);
    await Promise.all([pgServer.stop(), chServer.stop()]);
  }
}

await main();
