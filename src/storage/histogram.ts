// The quantity histogram: per UTC day × customer × service, how many live records carried each
// quantity, so p95/p99 over whole days are exact without reading records.
//
// Two tables (migrations 0016 and 0018):
// - quantity_histogram_packed: one row per day × customer × service, its distinct quantities
//   ascending in one blob and their counts in another (8-byte big-endian integers; counts NULL
//   when every count is 1). A year of one service is 365 rows per customer however many distinct
//   quantities it has, and the blobs decode with no per-value row overhead.
// - quantity_histogram: deltas not yet folded in, one row per day × customer × service ×
//   quantity. The writer's flush adds its counts here (one row per distinct quantity of a
//   day's fold, in multi-row upserts); corrections add −1 / +1 (a −1 may cancel a packed count,
//   so n may be negative). packHistogram() folds the deltas into the packed rows (the daily
//   maintenance runs it); until then readers add both.
// Live count of (day, customer, service, quantity) = packed count + delta n, always: the writer,
// corrections and packing each keep the sum in one transaction. Archive and restore leave both
// tables alone (the histogram counts archived records like the rollups do).
import type BetterSqlite3 from 'better-sqlite3';
import { dayStart } from '../core/time';

/** Adds n records of one quantity to a day's histogram; n < 0 takes them away. */
export const UPSERT_HISTOGRAM = `INSERT INTO quantity_histogram (service, day, customer_id, quantity, n) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (service, day, customer_id, quantity) DO UPDATE SET n = n + excluded.n`;

/** One row of UPSERT_HISTOGRAM's VALUES: service, day, customer_id, quantity, n. */
export const HISTOGRAM_ROW = '(?, ?, ?, ?, ?)';
export const HISTOGRAM_COLUMNS = 5;

/**
 * UPSERT_HISTOGRAM for `rows` rows in one statement (HISTOGRAM_COLUMNS parameters each, in
 * order). SQLite inserts the rows one after the other, so a key given twice adds both counts.
 */
export function upsertHistogramSql(rows: number): string {
  return UPSERT_HISTOGRAM.replace(HISTOGRAM_ROW, new Array(rows).fill(HISTOGRAM_ROW).join(', '));
}

/** One record in (+1) or out (−1) of the histogram, inside the caller's transaction. */
export function adjustHistogram(
  sqlite: BetterSqlite3.Database,
  r: { service: string; customerId: string; recordedAt: number; units: bigint | number },
  delta: 1 | -1,
): void {
  const day = dayStart(r.recordedAt);
  sqlite.prepare(UPSERT_HISTOGRAM).run(r.service, day, r.customerId, r.units, delta);
  // A delta that cancels out says nothing; a negative one cancels a packed count and stays.
  sqlite
    .prepare('DELETE FROM quantity_histogram WHERE service = ? AND day = ? AND customer_id = ? AND quantity = ? AND n = 0')
    .run(r.service, day, r.customerId, r.units);
}

/** SQL packing a column of integers into the blob format (8-byte big-endian each), in row order. */
export function packedColumn(column: string): string {
  return `unhex(group_concat(printf('%016x', ${column}), ''))`;
}

function encode(values: readonly bigint[]): Buffer {
  const b = Buffer.allocUnsafe(values.length * 8);
  for (let i = 0; i < values.length; i++) b.writeBigInt64BE(values[i]!, i * 8);
  return b;
}

function decodeBig(b: Uint8Array): bigint[] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = new Array<bigint>(b.byteLength >> 3);
  for (let i = 0; i < out.length; i++) out[i] = v.getBigInt64(i * 8);
  return out;
}

export interface PackResult {
  /** Day × customer × service rows written. */
  readonly days: number;
  /** Delta rows folded in. */
  readonly deltas: number;
}

/**
 * Folds every delta row of quantity_histogram into quantity_histogram_packed, a few hundred days
 * per transaction (the writer may run between them: each transaction keeps packed + deltas exact).
 * A day packed for the first time is packed in SQL, as migration 0018 does; a day already packed
 * is merged with its deltas here (in doubles when every quantity and count is a safe integer, in
 * bigints otherwise). Runs on a writable connection; the daily maintenance calls it.
 */
export function packHistogram(sqlite: BetterSqlite3.Database, o: { daysPerTransaction?: number } = {}): PackResult {
  const per = o.daysPerTransaction ?? 500;
  const keys = sqlite
    .prepare(
      `SELECT h.service, h.day, h.customer_id, count(*) AS deltas, min(h.n) < 0 AS negative,
              EXISTS (SELECT 1 FROM quantity_histogram_packed p WHERE p.service = h.service AND p.day = h.day AND p.customer_id = h.customer_id) AS packed,
              min(h.quantity) >= ${-SAFE} AND max(h.quantity) <= ${SAFE} AS safe
       FROM quantity_histogram h GROUP BY h.service, h.day, h.customer_id`,
    )
    .raw()
    .all() as Array<[string, number, string, number, number, number, number]>;
  const packNew = sqlite.prepare(`INSERT INTO quantity_histogram_packed (service, day, customer_id, n, quantities, counts)
    SELECT service, day, customer_id, sum(n), unhex(group_concat(printf('%016x', quantity), '' ORDER BY quantity)),
           CASE WHEN min(n) = 1 AND max(n) = 1 THEN NULL ELSE unhex(group_concat(printf('%016x', n), '' ORDER BY quantity)) END
    FROM quantity_histogram WHERE service = ? AND day = ? AND customer_id = ? AND n <> 0
    GROUP BY service, day, customer_id`);
  const firstNegative = sqlite
    .prepare('SELECT quantity, n FROM quantity_histogram WHERE service = ? AND day = ? AND customer_id = ? AND n < 0 LIMIT 1')
    .raw()
    .safeIntegers(true);
  const deltasOf = sqlite
    .prepare('SELECT quantity, n FROM quantity_histogram WHERE service = ? AND day = ? AND customer_id = ? ORDER BY quantity')
    .raw();
  const packedOf = sqlite
    .prepare('SELECT quantities, counts FROM quantity_histogram_packed WHERE service = ? AND day = ? AND customer_id = ?')
    .raw();
  const dropDeltas = sqlite.prepare('DELETE FROM quantity_histogram WHERE service = ? AND day = ? AND customer_id = ?');
  const put =
    sqlite.prepare(`INSERT INTO quantity_histogram_packed (service, day, customer_id, n, quantities, counts) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (service, day, customer_id) DO UPDATE SET n = excluded.n, quantities = excluded.quantities, counts = excluded.counts`);
  const dropPacked = sqlite.prepare('DELETE FROM quantity_histogram_packed WHERE service = ? AND day = ? AND customer_id = ?');
  const broken = (service: string, day: number, customer: string, q: unknown, c: unknown) =>
    new Error(`the quantity histogram counts ${c} records of ${q} (${service}, ${customer}, day ${day})`);
  let days = 0;
  let deltas = 0;
  const one = (service: string, day: number, customer: string, packed: boolean, negative: boolean, safe: boolean) => {
    if (!packed) {
      // Nothing to merge with: a negative delta would take a count below zero.
      if (negative) {
        const [q, c] = firstNegative.get(service, day, customer) as [bigint, bigint];
        throw broken(service, day, customer, q, c);
      }
      packNew.run(service, day, customer);
    } else {
      const old = packedOf.get(service, day, customer) as [Uint8Array, Uint8Array | null];
      const merged =
        (safe && mergeDoubles(old, deltasOf.all(service, day, customer) as Array<[number, number]>)) ||
        mergeBig(old, deltasOf.safeIntegers(true).all(service, day, customer) as Array<[bigint, bigint]>);
      deltasOf.safeIntegers(false);
      if (typeof merged === 'string') throw broken(service, day, customer, ...(merged.split(' ') as [string, string]));
      if (merged.n === 0) dropPacked.run(service, day, customer);
      else put.run(service, day, customer, merged.n, merged.quantities, merged.counts);
    }
    dropDeltas.run(service, day, customer);
    days++;
  };
  for (let k = 0; k < keys.length; k += per) {
    sqlite.transaction(() => {
      for (const [service, day, customer, count, negative, packed, safe] of keys.slice(k, k + per)) {
        one(service, day, customer, packed === 1, negative === 1, safe === 1);
        deltas += count;
      }
    })();
  }
  return { days, deltas };
}

interface Merged {
  n: number | bigint;
  quantities: Buffer;
  counts: Buffer | null;
}

/** Merges a packed row with its deltas (ascending) in doubles; null when a packed value is not safe, "q c" when a count goes below zero. */
function mergeDoubles(old: [Uint8Array, Uint8Array | null], rows: Array<[number, number]>): Merged | string | null {
  const m = old[0].byteLength >> 3;
  const oq = new Float64Array(m);
  const oc = new Float64Array(m);
  if (!decodeInto(old[0], oq, 0)) return null;
  if (old[1] === null) oc.fill(1);
  else if (!decodeInto(old[1], oc, 0)) return null;
  const qs = new Float64Array(m + rows.length);
  const cs = new Float64Array(m + rows.length);
  let k = 0;
  let i = 0;
  let j = 0;
  let total = 0;
  let ones = true;
  while (i < m || j < rows.length) {
    let q: number;
    let c: number;
    if (j >= rows.length || (i < m && oq[i]! < rows[j]![0])) {
      q = oq[i]!;
      c = oc[i++]!;
    } else if (i >= m || rows[j]![0] < oq[i]!) {
      [q, c] = rows[j++]!;
    } else {
      q = oq[i]!;
      c = oc[i++]! + rows[j++]![1];
    }
    if (c < 0) return `${q} ${c}`;
    if (c === 0) continue;
    qs[k] = q;
    cs[k++] = c;
    total += c;
    if (c !== 1) ones = false;
  }
  if (!Number.isSafeInteger(total)) return null;
  return { n: total, quantities: encodeDoubles(qs, k), counts: ones ? null : encodeDoubles(cs, k) };
}

/** The same in bigints: any quantity or count. */
function mergeBig(old: [Uint8Array, Uint8Array | null], rows: Array<[bigint, bigint]>): Merged | string {
  const oq = decodeBig(old[0]);
  const oc = old[1] === null ? null : decodeBig(old[1]);
  const qs: bigint[] = [];
  const cs: bigint[] = [];
  let i = 0;
  let j = 0;
  let total = 0n;
  while (i < oq.length || j < rows.length) {
    let q: bigint;
    let c: bigint;
    if (j >= rows.length || (i < oq.length && oq[i]! < rows[j]![0])) {
      q = oq[i]!;
      c = oc ? oc[i]! : 1n;
      i++;
    } else if (i >= oq.length || rows[j]![0] < oq[i]!) {
      [q, c] = rows[j++]!;
    } else {
      q = oq[i]!;
      c = (oc ? oc[i]! : 1n) + rows[j++]![1];
      i++;
    }
    if (c < 0n) return `${q} ${c}`;
    if (c === 0n) continue;
    qs.push(q);
    cs.push(c);
    total += c;
  }
  return { n: total, quantities: encode(qs), counts: cs.every((c) => c === 1n) ? null : encode(cs) };
}

function encodeDoubles(values: Float64Array, k: number): Buffer {
  const b = Buffer.allocUnsafe(k * 8);
  for (let i = 0; i < k; i++) {
    const v = values[i]!;
    const hi = Math.floor(v / 4294967296);
    b.writeInt32BE(hi, i * 8);
    b.writeUInt32BE(v - hi * 4294967296, i * 8 + 4);
  }
  return b;
}

/** 2^53 as a limb bound: a big-endian 8-byte integer whose high word is in ±2^21 is a safe double. */
const SAFE_HI = 2 ** 21;
/** The largest integer every double below it represents exactly. */
const SAFE = Number.MAX_SAFE_INTEGER;

/**
 * A multiset of quantities (units) given as packed blobs, with exact nearest-rank selection.
 * Every part is a blob of 8-byte big-endian integers and, optionally, a blob of their counts
 * (absent: each counts once); counts may be negative (histogram deltas) as long as the total count
 * of every quantity is not. Parts need not be sorted. Selection is a weighted three-way quickselect
 * over two Float64Arrays (exact: every value is checked to be a safe integer), falling back to a
 * sort of bigints when a quantity or count is past 2^53.
 */
export class QuantityCounts {
  private readonly parts: Array<[Uint8Array, Uint8Array | null]> = [];
  private entries = 0;
  private values: Float64Array | null = null;
  private weights: Float64Array | null = null;
  private big: Array<[bigint, bigint]> | null = null;

  /** How many (quantity, count) entries were added. */
  get size(): number {
    return this.entries;
  }

  add(quantities: Uint8Array | null, counts: Uint8Array | null = null): void {
    if (quantities === null || quantities.byteLength === 0) return;
    if (counts !== null && counts.byteLength !== quantities.byteLength)
      throw new Error('a packed histogram row has as many counts as quantities');
    this.parts.push([quantities, counts]);
    this.entries += quantities.byteLength >> 3;
    this.values = null;
    this.big = null;
  }

  /** The smallest quantity q such that at least `rank` of the counted records are ≤ q (1-based). */
  select(rank: number): number | bigint {
    if (this.big === null && this.values === null && !this.decode()) this.big = this.decodeBig();
    if (this.big !== null) {
      let seen = 0n;
      for (const [q, c] of this.big) {
        seen += c;
        if (seen >= BigInt(rank)) return q;
      }
      throw new Error('the quantity histogram counts fewer records than its total');
    }
    return select(this.values!, this.weights!, this.entries, rank);
  }

  /** Decodes into doubles; false when a quantity or count is not a safe integer. */
  private decode(): boolean {
    const vals = new Float64Array(this.entries);
    const wts = new Float64Array(this.entries);
    let at = 0;
    for (const [q, c] of this.parts) {
      const m = q.byteLength >> 3;
      if (!decodeInto(q, vals, at)) return false;
      if (c === null) wts.fill(1, at, at + m);
      else if (!decodeInto(c, wts, at)) return false;
      at += m;
    }
    this.values = vals;
    this.weights = wts;
    return true;
  }

  private decodeBig(): Array<[bigint, bigint]> {
    const sums = new Map<bigint, bigint>();
    for (const [q, c] of this.parts) {
      const qs = decodeBig(q);
      const cs = c === null ? null : decodeBig(c);
      qs.forEach((v, i) => sums.set(v, (sums.get(v) ?? 0n) + (cs ? cs[i]! : 1n)));
    }
    return [...sums].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

function decodeInto(b: Uint8Array, out: Float64Array, at: number): boolean {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const m = b.byteLength >> 3;
  for (let i = 0; i < m; i++) {
    const hi = v.getInt32(i * 8);
    if (hi >= SAFE_HI || hi < -SAFE_HI) return false;
    out[at + i] = hi * 4294967296 + v.getUint32(i * 8 + 4);
  }
  return true;
}

/**
 * Weighted quickselect: the smallest value whose cumulative weight reaches `rank`. Three-way
 * partitions keep equal values together, so a partition's weight is the exact count of its
 * values even when single weights are negative. Reorders vals/wts in place.
 */
function select(vals: Float64Array, wts: Float64Array, len: number, rank: number): number {
  let lo = 0;
  let hi = len;
  let seed = 0x9e3779b9;
  while (lo < hi) {
    if (hi - lo === 1) return vals[lo]!;
    seed = (seed ^ (seed << 13)) >>> 0;
    seed = (seed ^ (seed >>> 17)) >>> 0;
    seed = (seed ^ (seed << 5)) >>> 0;
    const pivot = vals[lo + (seed % (hi - lo))]!;
    let lt = lo;
    let i = lo;
    let gt = hi;
    let below = 0;
    let equal = 0;
    while (i < gt) {
      const x = vals[i]!;
      if (x < pivot) {
        const w = wts[i]!;
        vals[i] = vals[lt]!;
        wts[i] = wts[lt]!;
        vals[lt] = x;
        wts[lt] = w;
        below += w;
        lt++;
        i++;
      } else if (x > pivot) {
        gt--;
        const w = wts[i]!;
        vals[i] = vals[gt]!;
        wts[i] = wts[gt]!;
        vals[gt] = x;
        wts[gt] = w;
      } else {
        equal += wts[i]!;
        i++;
      }
    }
    if (rank <= below) hi = lt;
    else if (rank <= below + equal) return pivot;
    else {
      rank -= below + equal;
      lo = gt;
    }
  }
  throw new Error('the quantity histogram counts fewer records than its total');
}
