// npm run bench:aggregation — what each aggregation costs the writer: 200 000 events of one
// custom service per kind through BatchedWriter.recordMany (10 000-record calls), each kind on a
// fresh database, against `sum` in the same run (the baseline). unique_count also writes each new
// distinct value for its day, week and month; percentage / per-dimension prices parse metadata.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../src/storage/open';
import { BatchedWriter } from '../src/storage/writer';
import { ensureBuiltins, setPriceRule, upsertService } from '../src/storage/repos/services';
import type { Aggregation } from '../src/core/aggregation';
import type { PriceSpec } from '../src/core/pricing';

const N = Number(process.env.BENCH_RECORDS ?? 200_000);
const START = Date.UTC(2026, 9, 1);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-bench-aggregation-'));

async function run(name: string, aggregation: Aggregation, spec: PriceSpec, users: number): Promise<number> {
  const tdb = openDatabase(path.join(dir, `${name}.db`));
  await ensureBuiltins(tdb.db, 0);
  await upsertService(
    tdb.db,
    {
      name: 'svc',
      displayName: 'svc',
      baseUnit: 'units',
      displayUnit: 'units',
      displayFactor: 1,
      integerOnly: true,
      requiredFields: [],
      breakdownKeys: [],
      builtin: false,
      aggregation,
      aggregationField: aggregation === 'unique_count' ? 'user_id' : null,
    },
    0,
  );
  await setPriceRule(tdb.db, { service: 'svc', effectiveFrom: 0, spec }, 0);
  const w = await BatchedWriter.open(tdb, {
    hostId: 'bench',
    defaultCustomerId: 'acme',
    batchSize: 10_000,
    clock: () => START + 40 * 86_400_000,
  });
  const step = (30 * 86_400_000) / N;
  const t = performance.now();
  for (let i = 0; i < N; i += 10_000) {
    const batch = [];
    for (let j = i; j < Math.min(N, i + 10_000); j++)
      batch.push({
        service: 'svc',
        quantity: 1 + (j % 7),
        recordedAt: START + Math.floor(j * step),
        metadata: { user_id: `user-${j % users}`, model: 'm1', amount: '12.34' },
      });
    await w.recordMany(batch);
  }
  const ms = performance.now() - t;
  await w.close();
  await tdb.close();
  return (N / ms) * 1000;
}

async function main(): Promise<void> {
  const perUnit: PriceSpec = { model: 'per_unit', unitPrice: '0.001' };
  const rows: Array<[string, number]> = [];
  const median = async (name: string, a: Aggregation, spec: PriceSpec, users = 50_000) => {
    const r = [];
    for (let i = 0; i < 3; i++) r.push(await run(`${name}-${i}`, a, spec, users));
    return r.sort((x, y) => x - y)[1]!;
  };
  rows.push(['sum, per unit (baseline)', await median('sum', 'sum', perUnit)]);
  rows.push(['count', await median('count', 'count', perUnit)]);
  rows.push(['max', await median('max', 'max', perUnit)]);
  rows.push(['latest', await median('latest', 'latest', perUnit)]);
  rows.push(['unique_count (50 000 users)', await median('unique', 'unique_count', perUnit)]);
  rows.push([
    'sum, percentage 2.9 % + 0.30',
    await median('pct', 'sum', { model: 'percentage', rate: '2.9', amountField: 'amount', fixedFee: '0.30' }),
  ]);
  rows.push(['sum, per-dimension rates', await median('dim', 'sum', { model: 'dimension', field: 'model', rates: { m1: '0.000002' } })]);
  const base = rows[0]![1];
  console.log(
    `writer throughput by aggregation, ${N.toLocaleString('en')} records each — ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(2)}`,
  );
  for (const [name, rate] of rows)
    console.log(`${name.padEnd(34)} ${Math.round(rate).toLocaleString('en').padStart(9)} records/s  ×${(rate / base).toFixed(2)}`);
  fs.rmSync(dir, { recursive: true, force: true });
}

void main();
