// npm run bench:ingest — the batched writer against the machine's limit, in one run, on the
// same schema: a bare better-sqlite3 prepared INSERT loop in 10 000-row transactions (ids from
// the same pooled ULID generator; from the same record objects to rows, no validation, no
// pricing, no rollups) vs. Tally's writer (validate, price, insert, rollups) at batch sizes
// 100, 1 000 and 10 000.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../src/storage/open';
import { BatchedWriter } from '../src/storage/writer';
import { demoRecords } from '../src/core/demo';
import type { RecordInput } from '../src/core/records';
import { ensureBuiltins } from '../src/storage/repos/services';
import { ulidFactory } from '../src/storage/ids';
import { machine, ratio, reportRow } from './rows';

const N = Number(process.env.BENCH_RECORDS ?? 300_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-bench-ingest-'));

// Realistic records: the demo mix of all six services, recorded over the last 30 days.
const end = Date.now() - 3_600_000;
const inputs: RecordInput[] = [];
for (const r of demoRecords({ days: 30, end, scale: 4 })) {
  inputs.push(r);
  if (inputs.length === N) break;
}
// Live ingestion delivers records in time order (recorded ≈ now); the demo generator shuffles
// them within each hour. BENCH_ORDER=shuffled keeps the generator's order for comparison.
if (process.env.BENCH_ORDER !== 'shuffled') inputs.sort((a, b) => (a.recordedAt as number) - (b.recordedAt as number));

/** CPU-seconds of this process since `c0`: less sensitive than wall time to what else runs on the machine. */
const cpuSeconds = (c0: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / 1e6;
};
/** Records per CPU-second, per run, beside the records per second. */
const cpu: Record<string, number[]> = { bare: [], w100: [], w1000: [], w10000: [] };

let fileNo = 0;
async function freshDb() {
  const tdb = openDatabase(path.join(dir, `bench-${fileNo++}.db`));
  await ensureBuiltins(tdb.db, Date.now());
  return tdb;
}

async function bareLoop(): Promise<number> {
  const tdb = await freshDb();
  // The same cheap ULIDs the writer makes (the `ulid` package's would slow the baseline down).
  const newId = ulidFactory();
  const insert = tdb.sqlite.prepare(
    `INSERT INTO usage_records (id, recorded_at, customer_id, user_id, host_id, service, quantity, unit_price, cost_nanos, metadata, source)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  // From the same record objects the writer gets to the row, inside the timed loop like the
  // writer's own conversion: metadata to JSON text, quantities to integer units
  // (core/quantity.ts: compute's CPU-seconds as microseconds).
  const rows = inputs;
  const tx = tdb.sqlite.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const r = rows[i]!;
      const quantity = r.service === 'compute' ? Math.round(Number(r.quantity) * 1e6) : r.quantity;
      insert.run(
        newId(),
        r.recordedAt as number,
        'default',
        null,
        'bench',
        r.service,
        quantity,
        '0.0001',
        100000,
        JSON.stringify(r.metadata ?? {}),
        'bench',
      );
    }
  });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < rows.length; i += 10_000) tx.immediate(i, Math.min(rows.length, i + 10_000));
  const seconds = (performance.now() - t0) / 1000;
  cpu.bare!.push(rows.length / cpuSeconds(c0));
  await tdb.close();
  return rows.length / seconds;
}

async function writer(batchSize: number): Promise<number> {
  const tdb = await freshDb();
  const w = await BatchedWriter.open(tdb, {
    hostId: 'bench',
    defaultCustomerId: 'default',
    batchSize,
    maxQueue: 1_000_000,
    batchTimeoutMs: 60_000,
  });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  // Producers hand records over as they come: a burst of 10 per event-loop turn (what one request
  // or one collector run delivers), so commits interleave with arrivals and the writer decides
  // how much each commit carries (batchSize: how many queued records make it flush early).
  for (let i = 0; i < inputs.length; i++) {
    w.add(inputs[i]!);
    if ((i + 1) % 10 === 0) await new Promise((r) => setImmediate(r));
  }
  await w.flush();
  const seconds = (performance.now() - t0) / 1000;
  cpu[`w${batchSize}`]!.push(inputs.length / cpuSeconds(c0));
  const count = (tdb.sqlite.prepare('SELECT count(*) AS n FROM usage_records').get() as { n: number }).n;
  if (count !== inputs.length) throw new Error(`writer stored ${count} of ${inputs.length}`);
  await w.close();
  await tdb.close();
  perCommit[batchSize] = inputs.length / w.metrics.flushes;
  return inputs.length / seconds;
}

/** Records per commit of the last run at each batch size: what adaptive group commit chose. */
const perCommit: Record<number, number> = {};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const results: Record<string, number[]> = { bare: [], w100: [], w1000: [], w10000: [] };
for (let round = 0; round < ROUNDS; round++) {
  // Interleave the runs so drift of the machine affects all of them alike.
  results.bare!.push(await bareLoop());
  results.w100!.push(await writer(100));
  results.w1000!.push(await writer(1000));
  results.w10000!.push(await writer(10_000));
  globalThis.gc?.();
}

const limit = median(results.bare!);
const fmt = (v: number) => Math.round(v).toLocaleString('en-US');
/** One row of issue 14's table: the ratio to its baseline from this same run, and the target. */
const row = (what: string, key: string, batch: number, target?: number) => {
  const v = median(results[key]!);
  const c = median(cpu[key]!) / median(cpu.bare!);
  const us = (k: string) => (1e6 / median(cpu[k]!)).toFixed(2);
  const detail = `${fmt(v)} vs ${fmt(limit)} records/s; per CPU-second ${c.toFixed(2)}× (${us(key)} vs ${us('bare')} µs CPU per record); ${fmt(perCommit[batch] ?? 0)} records/commit; median of ${ROUNDS}`;
  if (target === undefined) console.log(`${what.padEnd(62)} ${ratio(v, limit).padStart(9)}  (${detail})`);
  else reportRow({ what, value: ratio(v, limit), detail, target: `≥ ${target}×`, met: v / limit >= target });
};
console.log(
  `ingest: ${inputs.length.toLocaleString('en-US')} demo records (all six services, ${process.env.BENCH_ORDER === 'shuffled' ? 'shuffled within each hour' : 'in time order'}), median of ${ROUNDS} rounds; ${machine()}`,
);
console.log('baseline: a bare better-sqlite3 prepared INSERT loop, 10 000 rows per transaction, same schema, same ULID generator');
row('writer at the default batch size (100) vs a bare prepared-insert loop on the same schema', 'w100', 100, 0.8);
row('writer at batch 1 000 vs the bare loop', 'w1000', 1000);
row('writer at 10 000-row batches vs the same bare loop', 'w10000', 10_000, 0.9);
fs.rmSync(dir, { recursive: true, force: true });
