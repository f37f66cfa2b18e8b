// npm run bench:corrections — what a correction costs, in one run on one database: N api records
// of one customer in one month under graduated tiers (so a void re-prices every later record).
// Baseline: the writer committing the same N records. Then: voiding the newest record (nothing
// after it), the oldest (every later record re-priced), and an amend in the middle; and the
// writer's flush with the month-closing check before it (billing.graceDays) vs. without.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closeDueMonths } from '../src/analytics/closing';
import { amendRecord, voidRecord } from '../src/storage/corrections';
import { openDatabase } from '../src/storage/open';
import { ensureBuiltins, setPriceRule } from '../src/storage/repos/services';
import { BatchedWriter } from '../src/storage/writer';

const N = Number(process.env.BENCH_RECORDS ?? 200_000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-bench-corrections-'));
const MONTH = Date.UTC(2026, 10, 1);
const NOW = MONTH + 28 * 86_400_000;
const records = Array.from({ length: N }, (_, i) => ({
  service: 'api',
  quantity: 1,
  customerId: 'acme',
  recordedAt: MONTH + Math.floor((i * 27 * 86_400_000) / N),
  metadata: { endpoint: '/users', method: 'GET' },
}));

async function writer(file: string, closing: boolean) {
  const tdb = openDatabase(path.join(dir, file));
  await ensureBuiltins(tdb.db, NOW);
  await setPriceRule(
    tdb.db,
    {
      service: 'api',
      effectiveFrom: 0,
      spec: {
        model: 'tiered',
        tiers: [
          { upTo: 1000, unitPrice: '0.001' },
          { upTo: null, unitPrice: '0.0005' },
        ],
      },
    },
    NOW,
  );
  const w = await BatchedWriter.open(tdb, {
    hostId: 'bench',
    defaultCustomerId: 'acme',
    batchSize: 10_000,
    clock: () => NOW,
    ...(closing ? { beforeFlush: (t, now) => closeDueMonths(t.db, { now, graceDays: 3 }) } : {}),
  });
  return { tdb, w };
}

async function ingest(closing: boolean): Promise<{ ms: number; ids: string[]; w: BatchedWriter; close: () => Promise<void> }> {
  const { tdb, w } = await writer(`bench-${closing ? 'closing' : 'plain'}.db`, closing);
  const start = performance.now();
  const ids: string[] = [];
  for (let i = 0; i < N; i += 10_000) ids.push(...(await w.recordMany(records.slice(i, i + 10_000))).map((s) => s.id));
  const ms = performance.now() - start;
  return { ms, ids, w, close: async () => (await w.close(), await tdb.close()) };
}

const time = async (fn: () => Promise<unknown>) => {
  const start = performance.now();
  await fn();
  return performance.now() - start;
};

const plain = await ingest(false);
const closing = await ingest(true);
const newest = await time(() => voidRecord(plain.w, { id: plain.ids[N - 1]!, reason: 'bench', actor: 'bench' }));
const oldest = await time(() => voidRecord(plain.w, { id: plain.ids[0]!, reason: 'bench', actor: 'bench' }));
const middle = await time(() => amendRecord(plain.w, { id: plain.ids[N >> 1]!, reason: 'bench', actor: 'bench', quantity: 2 }));
const again = await time(() => voidRecord(plain.w, { id: plain.ids[0]!, reason: 'bench', actor: 'bench' }));

const rate = (ms: number) => Math.round((N / ms) * 1000).toLocaleString('en-US');
console.log(`${N.toLocaleString('en-US')} records of one customer × service in one month (graduated tiers), ${os.cpus().length} cores`);
console.log(`writer, 10 000-record commits:                ${plain.ms.toFixed(0)} ms (${rate(plain.ms)} records/s)  baseline`);
console.log(`writer with the month-closing check per flush: ${closing.ms.toFixed(0)} ms (${rate(closing.ms)} records/s)`);
console.log(`void the newest record (nothing to re-price):  ${newest.toFixed(1)} ms`);
console.log(`void the oldest record (re-prices ${(N - 2).toLocaleString('en-US')}):   ${oldest.toFixed(1)} ms`);
console.log(`amend the middle record:                       ${middle.toFixed(1)} ms`);
console.log(`void it again (idempotent, nothing changes):   ${again.toFixed(1)} ms`);
await plain.close();
await closing.close();
fs.rmSync(dir, { recursive: true, force: true });
