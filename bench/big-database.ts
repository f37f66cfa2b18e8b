// The 10-million-record database the report and UI benchmarks share. Generation writes raw rows
// with one prepared INSERT in 250 000-row transactions (journal off while building), folds the
// hourly rollups in memory on the way, and derives the day, week and month rollups from the
// hourly ones with INSERT … SELECT … GROUP BY. The file is cached under /tmp by version and size,
// so reruns skip generation (BENCH_REGENERATE=1 forces it).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { openDatabase } from '../src/storage/open';
import { prng } from '../src/core/demo';
import { parseDecimalToNanos } from '../src/core/money';
import { ensureBuiltins } from '../src/storage/repos/services';
import { packHistogram } from '../src/storage/histogram';
import { BUILTIN_SERVICES, DEFAULT_PRICES } from '../src/core/services';

const VERSION = 5; // 2: exact integer quantities (migration 0009): units and limb rollups; 3: quantity histogram (0016); 4: packed (0018); 5: 8 KiB pages
export const N = Number(process.env.BENCH_RECORDS ?? 10_000_000);
export const END = Date.UTC(2026, 10, 1); // fixed, so the cached file stays valid
const DAYS = 365;
export const START = END - DAYS * 86_400_000;
export const DB = path.join(os.tmpdir(), `tally-bench-reports-v${VERSION}-${N}.db`);

const B32 = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
function b32(n: number, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) {
    s = B32[n % 32]! + s;
    n = Math.floor(n / 32);
  }
  return s;
}

interface Fold {
  count: number;
  sum: number;
  cost: number;
  min: number;
  max: number;
}

async function generate(): Promise<number> {
  const started = performance.now();
  const tmp = `${DB}.building`;
  fs.rmSync(tmp, { force: true });
  const setup = openDatabase(tmp); // migrated, in WAL mode
  await ensureBuiltins(setup.db, START);
  await setup.close();

  // Building a throwaway file: journal in memory, no fsync (WAL would write every page twice;
  // journal_mode OFF is refused by SQLite's defensive mode, which better-sqlite3 turns on).
  const db = new BetterSqlite3(tmp);
  const mode = db.pragma('journal_mode = MEMORY', { simple: true });
  if (mode !== 'memory') throw new Error(`could not move the journal to memory (${String(mode)})`);
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -512000');
  db.pragma('temp_store = MEMORY');
  const insert = db.prepare(
    `INSERT INTO usage_records (id, recorded_at, customer_id, user_id, host_id, service, quantity, unit_price, cost_nanos, metadata, source)
     VALUES (?, ?, ?, NULL, 'bench-host', ?, ?, ?, ?, ?, 'bench')`,
  );
  const price = new Map(DEFAULT_PRICES.map((p) => [p.service, p.unitPrice]));
  const nanosPerBase = new Map(BUILTIN_SERVICES.map((s) => [s.name, parseDecimalToNanos(price.get(s.name)!) / s.displayFactor]));
  // The service mix and per-record quantities of a busy API host.
  const mix: Array<[string, number, () => number, string[]]> = [
    [
      'api',
      0.4,
      () => 1,
      [
        '{"endpoint":"/users","method":"GET","status":200}',
        '{"endpoint":"/orders","method":"POST","status":201}',
        '{"endpoint":"/search","method":"GET","status":200}',
      ],
    ],
    ['database', 0.3, () => 1, ['{"type":"SELECT","duration_ms":12}', '{"type":"INSERT","duration_ms":4}']],
    [
      'functions',
      0.15,
      () => 1,
      ['{"function":"sendEmail","duration_ms":120,"memory_mb":128}', '{"function":"resizeImage","duration_ms":340,"memory_mb":512}'],
    ],
    ['bandwidth', 0.08, () => 0, ['{"interface":"eth0","direction":"egress"}', '{"interface":"eth0","direction":"ingress"}']],
    ['compute', 0.04, () => 0, ['{"instance":"web-1"}', '{"instance":"worker-1"}']],
    ['storage', 0.03, () => 0, ['{"path":"/var/lib/app","volume":"data"}']],
  ];
  const rand = prng(2026);
  const quantity = (service: string): number => {
    switch (service) {
      case 'bandwidth':
        return Math.round(rand() * 50 * 1024 * 1024);
      case 'compute':
        return Math.round(rand() * 3600 * 1e3) / 1e3;
      case 'storage':
        return Math.round((40 + rand() * 10) * 2 ** 30) * 60;
      default:
        return 1;
    }
  };
  const customers = ['acme', 'globex', 'initech', 'umbrella', 'hooli'];
  const hourly = new Map<string, Fold>();
  const step = (END - START) / N;
  const BATCH = 250_000;
  for (let done = 0; done < N; done += BATCH) {
    db.transaction(() => {
      for (let i = done; i < Math.min(N, done + BATCH); i++) {
        const at = Math.floor(START + i * step);
        let r = rand();
        let pick = mix[0]!;
        for (const m of mix) {
          if (r < m[1]) {
            pick = m;
            break;
          }
          r -= m[1];
        }
        const service = pick[0];
        const q = quantity(service);
        const cost = Math.round(q * nanosPerBase.get(service)!);
        // Stored as integer units: CPU-seconds in microseconds (fractional service), the rest as is.
        const units = service === 'compute' ? Math.round(q * 1e6) : q;
        const customer = customers[i % 5]!;
        insert.run(b32(at, 10) + b32(i, 16), at, customer, service, units, price.get(service)!, cost, pick[3][i % pick[3].length]!);
        const hour = at - (at % 3_600_000);
        const key = `${hour}|${customer}|${service}`;
        const f = hourly.get(key);
        if (f) {
          f.count++;
          f.sum += units;
          f.cost += cost;
          if (units < f.min) f.min = units;
          if (units > f.max) f.max = units;
        } else hourly.set(key, { count: 1, sum: units, cost, min: units, max: units });
      }
    })();
    process.stderr.write(`\rgenerating ${Math.min(N, done + BATCH).toLocaleString('en')} / ${N.toLocaleString('en')} records`);
  }
  process.stderr.write('\n');
  // Sums as two limbs, hi × 2^32 + lo (migration 0009); an hour's sum stays below 2^53 here.
  const up = db.prepare(
    `INSERT INTO rollups (period, bucket_start, customer_id, service, event_count, sum_quantity_hi, sum_quantity_lo, sum_cost_nanos, min_quantity, max_quantity)
     VALUES ('hour', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  db.transaction(() => {
    for (const [key, f] of hourly) {
      const [hour, customer, service] = key.split('|');
      up.run(Number(hour), customer, service, f.count, Math.floor(f.sum / 2 ** 32), f.sum % 2 ** 32, f.cost, f.min, f.max);
    }
  })();
  const derive = (period: string, bucket: string) =>
    db.exec(`INSERT INTO rollups (period, bucket_start, customer_id, service, event_count, sum_quantity_hi, sum_quantity_lo, sum_cost_nanos, min_quantity, max_quantity)
             SELECT '${period}', ${bucket} AS b, customer_id, service, sum(event_count), sum(sum_quantity_hi) + (sum(sum_quantity_lo) >> 32),
                    sum(sum_quantity_lo) & 4294967295, sum(sum_cost_nanos), min(min_quantity), max(max_quantity)
             FROM rollups WHERE period = 'hour' GROUP BY b, customer_id, service`);
  derive('day', '(bucket_start / 86400000) * 86400000');
  derive('week', '((bucket_start / 86400000) - ((bucket_start / 86400000) + 3) % 7) * 86400000');
  derive('month', "CAST(strftime('%s', bucket_start / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000");
  // The percentile histogram as the writer leaves it (deltas per day × customer × service ×
  // quantity, migration 0016) and the daily maintenance packs it (migration 0018).
  db.exec(`INSERT INTO quantity_histogram (service, day, customer_id, quantity, n)
           SELECT service, recorded_at - recorded_at % 86400000, customer_id, quantity, count(*) FROM usage_records GROUP BY 1, 2, 3, 4`);
  packHistogram(db);
  db.pragma('journal_mode = WAL');
  db.exec('ANALYZE');
  db.close();
  fs.renameSync(tmp, DB);
  return performance.now() - started;
}

/** The cached database, generated first when missing; `generatedMs` is null when it was cached. */
export async function bigDatabase(): Promise<{ file: string; generatedMs: number | null }> {
  if (process.env.BENCH_REGENERATE) fs.rmSync(DB, { force: true });
  return { file: DB, generatedMs: fs.existsSync(DB) ? null : await generate() };
}
