// The PostgreSQL store's first try for a batch: COPY the records straight into usage_records, the
// rollups folded here from the batch itself and added in the same transaction. A batch of new
// records (every first send) costs PostgreSQL what a plain COPY does. A unique violation (a batch
// sent again, two sends racing, an id twice in one batch) rolls the whole transaction back, and the
// caller stores the batch through the staging table (pg-copy.ts), which inserts only the ids not
// held yet: nothing is stored or counted twice either way.
// The stored text must be what the staging path stores: quantities rounded half up to 6 decimals
// (PostgreSQL's round(quantity, 6)), metadata as jsonb prints it (keys by length, then bytes; ", "
// and ": " between items). A batch this cannot reproduce exactly (numbers in metadata that JSON.parse
// may not read exactly, non-ASCII keys, escapes jsonb prints otherwise) takes the staging path.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import type { NativeRecord } from '../core/sync/native';
import { ADD_TO_ROLLUPS } from './ingest';
import { copyFields, parsedIsExact, rawFields } from './pg-copy';
import type { ValidBatch } from './store';

export type Int = number | bigint;

const NUMBER = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;
const LEADING_ZEROS = /^0+(?=\d)/;
const toInt = (digits: string): Int => (digits.length <= 15 ? Number(digits) : BigInt(digits));

/**
 * A JSON number's text (≥ 0) in millionths, rounded half up as PostgreSQL's round(numeric, 6)
 * does; null when it is not one this reads (then the batch takes the staging path).
 */
export function toMicro(text: string): Int | null {
  const m = NUMBER.exec(text);
  if (!m) return null;
  const frac = m[3] ?? '';
  const digits = (m[2]! + frac).replace(LEADING_ZEROS, '');
  if (digits === '0') return 0;
  if (m[1]) return null; // negative: refused before this
  const shift = Number(m[4] ?? 0) - frac.length + 6; // value in millionths = digits × 10^shift
  if (shift >= 0) return shift > 30 ? null : toInt(digits + '0'.repeat(shift));
  const keep = digits.length + shift;
  if (keep < 0) return 0;
  const up = digits.charCodeAt(keep) >= 53; // the first dropped digit is 5 or more
  const whole = keep === 0 ? 0 : toInt(digits.slice(0, keep));
  return up ? add(whole, 1) : whole;
}

function add(a: Int, b: Int): Int {
  if (typeof a === 'number' && typeof b === 'number') {
    const s = a + b;
    if (Number.isSafeInteger(s)) return s;
  }
  return BigInt(a) + BigInt(b);
}

/** Millionths as numeric's text with 6 decimals ("12.500000"), as round(x, 6) prints it. */
export function microText(m: Int): string {
  const s = String(m).padStart(7, '0');
  return s.slice(0, -6) + '.' + s.slice(-6);
}

const ASCII_KEY = /^[\x20-\x7e]*$/;
const byJsonbOrder = (a: string, b: string) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
// Characters JSON.stringify escapes (or may: surrogates); a string without any is itself in quotes.
const NEEDS_ESCAPE = /["\\\x00-\x1f\ud800-\udfff]/;
// Each key's `"key": ` (null: non-ASCII, sorted by jsonb on bytes), built once per collector.
const KEYS = new Map<string, string | null>();

function keyText(k: string): string | null {
  let t = KEYS.get(k);
  if (t === undefined) {
    t = ASCII_KEY.test(k) ? JSON.stringify(k) + ': ' : null;
    if (KEYS.size < 10_000) KEYS.set(k, t);
  }
  return t;
}

/**
 * `v` as jsonb's text output, or null when this cannot be sure to match it: a number whose
 * shortest text has an exponent (or, with `numbers` false, any number: the body had numbers
 * JSON.parse may not read exactly), a string jsonb would escape otherwise, a non-ASCII key.
 */
export function jsonbText(v: unknown, numbers: boolean, depth = 0): string | null {
  if (typeof v === 'string') {
    if (!NEEDS_ESCAPE.test(v)) return '"' + v + '"';
    const s = JSON.stringify(v);
    return s.includes('\\u') ? null : s;
  }
  if (typeof v === 'number') {
    if (!numbers) return null;
    const s = String(v);
    return s.includes('e') ? null : s;
  }
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v !== 'object' || depth > 64) return null;
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) {
      const t = jsonbText(v[i], numbers, depth + 1);
      if (t === null) return null;
      out += (i ? ', ' : '') + t;
    }
    return out + ']';
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 0) return '{}';
  if (keys.length > 1) keys.sort(byJsonbOrder);
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const kt = keyText(k);
    if (kt === null) return null;
    const t = jsonbText(o[k], numbers, depth + 1);
    if (t === null) return null;
    out += (i ? ', ' : '') + kt + t;
  }
  return out + '}';
}

/** One rollup row's sums. */
export interface Fold {
  period: string;
  bucket: number;
  customerId: string;
  service: string;
  n: number;
  q: Int;
  c: Int;
  lo: Int;
  hi: Int;
}

function foldInto(map: Map<string, Fold>, period: string, bucket: number, from: Fold): void {
  const key = `${bucket}\t${from.customerId}\t${from.service}`;
  const f = map.get(key);
  if (!f) map.set(key, { ...from, period, bucket });
  else {
    f.n += from.n;
    f.q = add(f.q, from.q);
    f.c = add(f.c, from.c);
    if (from.lo < f.lo) f.lo = from.lo;
    if (from.hi > f.hi) f.hi = from.hi;
  }
}

const HOUR = 3_600_000;
const DAY = 86_400_000;
// Date's range: bucket starts past it cannot be computed here (PostgreSQL's range is wider).
export const MAX_DATE_MS = 8.64e15;

/** customer → service → hour → its sums (no key string built per record). */
export type Hours = Map<string, Map<string, Map<number, Fold>>>;

/** Adds one record to its hour's sums. */
export function foldRecord(hours: Hours, recordedAt: number, customerId: string, service: string, micro: Int, costNanos: number): void {
  const hour = recordedAt - (recordedAt % HOUR);
  let byService = hours.get(customerId);
  if (!byService) hours.set(customerId, (byService = new Map()));
  let byHour = byService.get(service);
  if (!byHour) byService.set(service, (byHour = new Map()));
  const f = byHour.get(hour);
  if (!f) byHour.set(hour, { period: 'hour', bucket: hour, customerId, service, n: 1, q: micro, c: costNanos, lo: micro, hi: micro });
  else {
    f.n++;
    f.q = add(f.q, micro);
    f.c = add(f.c, costNanos);
    if (micro < f.lo) f.lo = micro;
    if (micro > f.hi) f.hi = micro;
  }
}

/** The four periods' rollup rows of the hours' folds, as PostgreSQL's statement folds them. */
export function rollupRows(byCustomer: Hours): Fold[] {
  const hours: Fold[] = [];
  for (const byService of byCustomer.values()) for (const byHour of byService.values()) for (const f of byHour.values()) hours.push(f);
  const days = new Map<string, Fold>();
  for (const h of hours) foldInto(days, 'day', h.bucket - (h.bucket % DAY), h);
  const weeks = new Map<string, Fold>();
  const months = new Map<string, Fold>();
  for (const d of days.values()) {
    foldInto(weeks, 'week', d.bucket - ((Math.trunc(d.bucket / DAY) + 3) % 7) * DAY, d);
    const date = new Date(d.bucket);
    foldInto(months, 'month', Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1), d);
  }
  return [...hours, ...days.values(), ...weeks.values(), ...months.values()];
}

/** A batch ready for the direct COPY: its rows (COPY text, in chunks) and the rollup rows they add. */
export interface DirectBatch {
  readonly count: number;
  readonly rows: () => Iterable<string | Buffer>;
  readonly rollups: readonly Fold[];
}

type GoodRecord = Omit<NativeRecord, 'userId'> & { userId?: string | null };

export const CHUNK_ROWS = 1000;
export const BACKSLASHES = /\\/g;
// Customer ids and service names are validated to these characters (ingest.ts): safe to inline.
export const PLAIN = /^[A-Za-z0-9._:@-]+$/;

/** The batch's good records for usage_records and their rollups, or null for the staging path. */
export function directBatch(batch: ValidBatch, receivedAt: number): DirectBatch | null {
  const exact = parsedIsExact(batch.text);
  // With inexact numbers in the body, quantities come from its text and metadata may hold none.
  const raw = exact ? null : rawFields(batch.text);
  if (!exact && (raw === null || raw.quantity.length !== batch.records.length)) return null;
  const skip = new Set(batch.skip);
  const records = batch.records as readonly GoodRecord[];
  const quantity = new Array<string>(records.length);
  const metadata = new Array<string>(records.length);
  const hours: Hours = new Map();
  let count = 0;
  for (let i = 0; i < records.length; i++) {
    if (skip.has(i)) continue;
    const r = records[i]!;
    if (r.recordedAt >= MAX_DATE_MS || !PLAIN.test(r.customerId) || !PLAIN.test(r.service)) return null;
    // Whole quantities below 2^53 / 10^6 (most) are their millionths as a double already.
    const whole = !raw && Number.isInteger(r.quantity) && r.quantity <= 9e9;
    const micro = whole ? r.quantity * 1e6 : toMicro(raw ? raw.quantity[i]! : String(r.quantity));
    // The raw walk must agree with JSON.parse (as copyChunks checks).
    if (micro === null || (raw && Number(raw.quantity[i]) !== r.quantity)) return null;
    let m = jsonbText(r.metadata, exact);
    if (m === null) return null;
    if (m.includes('\\')) m = m.replace(BACKSLASHES, '\\\\'); // COPY's escape (JSON escapes every control)
    quantity[i] = whole ? r.quantity + '.000000' : microText(micro);
    metadata[i] = m;
    count++;
    foldRecord(hours, r.recordedAt, r.customerId, r.service, micro, r.costNanos);
  }
  const rows = function* (): Iterable<string> {
    const tail = '\t' + Math.trunc(receivedAt) + '\n';
    let out = '';
    let n = 0;
    for (let i = 0; i < records.length; i++) {
      if (skip.has(i)) continue;
      const r = records[i]!;
      out += copyFields(r, quantity[i]!, metadata[i]!) + tail;
      if (++n % CHUNK_ROWS === 0) {
        yield out;
        out = '';
      }
    }
    if (out) yield out;
  };
  return { count, rows, rollups: rollupRows(hours) };
}

const COPY_RECORDS =
  'COPY usage_records (id, recorded_at, customer_id, user_id, host_id, service, quantity, unit_price, cost_nanos, metadata, source, received_at) FROM STDIN';

// One array literal per column: PostgreSQL parses a 40 000-row VALUES list as 360 000 expressions,
// these as nine arrays (a third less of its CPU for the upsert). Every element is a number or one
// of the plain characters above, so quoting each element in "" is all the escaping it needs.
const quoted = (xs: readonly string[]) => `'{"${xs.join('","')}"}'`;
const plain = (xs: readonly string[]) => `'{${xs.join(',')}}'`;

/** The rollup rows as one upsert, in the order the staging statement locks them (pg-copy.ts). */
export function rollupStatement(rows: readonly Fold[]): string {
  const cols: string[][] = [[], [], [], [], [], [], [], [], []];
  for (const f of rows) {
    cols[0]!.push(f.period);
    cols[1]!.push(String(f.bucket));
    cols[2]!.push(f.customerId);
    cols[3]!.push(f.service);
    cols[4]!.push(String(f.n));
    cols[5]!.push(microText(f.q));
    cols[6]!.push(String(f.c));
    cols[7]!.push(microText(f.lo));
    cols[8]!.push(microText(f.hi));
  }
  const [p, b, c, s, n, q, k, lo, hi] = cols as [string[], string[], string[], string[], string[], string[], string[], string[], string[]];
  return `INSERT INTO rollups (period, bucket_start, customer_id, service, event_count, sum_quantity, sum_cost_nanos, min_quantity, max_quantity)
  SELECT * FROM unnest(${quoted(p)}::text[], ${plain(b)}::int8[], ${quoted(c)}::text[], ${quoted(s)}::text[], ${plain(n)}::int8[],
    ${plain(q)}::numeric[], ${plain(k)}::int8[], ${plain(lo)}::numeric[], ${plain(hi)}::numeric[])
    AS v (p, b, c, s, n, q, k, lo, hi)
  ORDER BY p, b, c, s
  ${ADD_TO_ROLLUPS}`;
}

const UNIQUE_VIOLATION = '23505';

/**
 * Stores `batch` by COPY into usage_records and its rollups, in one transaction; returns how many
 * were stored, or null when one of its ids is held already (nothing stored: take the staging path).
 */
export async function copyDirect(pool: pg.Pool, batch: DirectBatch): Promise<number | null> {
  if (batch.count === 0) return 0;
  const { from: copyFrom } = await import('pg-copy-streams');
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    try {
      await pipeline(Readable.from(batch.rows()), client.query(copyFrom(COPY_RECORDS)));
      // The upsert and COMMIT in one round trip (the simple protocol; every value inlined was
      // validated to digits or the plain characters above): the rollup rows it locks are released
      // without waiting for this process's event loop.
      await client.query(`${rollupStatement(batch.rollups)};\nCOMMIT`);
      return batch.count;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      if ((err as { code?: string }).code === UNIQUE_VIOLATION) return null;
      throw err;
    }
  } finally {
    client.release(broken);
  }
}
