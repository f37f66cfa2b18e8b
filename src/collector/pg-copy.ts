// The PostgreSQL store's ingest (the default): COPY the batch into a per-session temp staging table,
// then one INSERT … SELECT … ON CONFLICT (id) DO NOTHING whose RETURNING rows are folded into the four
// rollup periods in the same statement, all in one transaction (a re-sent batch stays harmless).
// Quantities and metadata reach PostgreSQL as the JSON text the agent sent: re-encoded from the
// parsed values when every number in the body is short enough to be exact as a double, else
// sliced from the body (rawFields below), so quantities stay exact past 2^53 and the stored
// metadata text is jsonb's, as on the jsonb_to_recordset path (ingest.ts) kept for other shapes.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import type { NativeRecord } from '../core/sync/native';
import { ADD_TO_ROLLUPS } from './ingest';
import type { ValidBatch } from './store';

interface Raw {
  quantity: string[];
  metadata: string[];
}

const QUOTE = 34;
const BACKSLASH = 92;

/** Index just past the string starting at `i` (a quote). */
function skipString(text: string, i: number): number {
  let j = i + 1;
  for (;;) {
    const q = text.indexOf('"', j);
    if (q < 0) return text.length;
    let k = q - 1;
    while (text.charCodeAt(k) === BACKSLASH) k--;
    if ((q - 1 - k) % 2 === 0) return q + 1; // an even run of backslashes: the quote ends it
    j = q + 1;
  }
}

/** Index just past the JSON value starting at `i` (the body already parsed, so it is valid). */
export function skipValue(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === QUOTE) return skipString(text, i);
  if (c === 123 || c === 91) {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text.charCodeAt(j);
      if (d === QUOTE) j = skipString(text, j) - 1;
      else if (d === 123 || d === 91) depth++;
      else if ((d === 125 || d === 93) && --depth === 0) return j + 1;
    }
    return text.length;
  }
  let j = i;
  while (j < text.length && !ENDS_NUMBER(text.charCodeAt(j))) j++;
  return j;
}

const WS = (c: number) => c === 32 || c === 10 || c === 13 || c === 9;
const ENDS_NUMBER = (c: number) => c === 44 || c === 125 || c === 93 || WS(c);

const skipWs = (text: string, i: number) => {
  while (i < text.length && WS(text.charCodeAt(i))) i++;
  return i;
};

/** Walks an object at `i`, calling `onKey(key, valueStart, valueEnd)`; null when a key has escapes. */
function walkObject(text: string, i: number, onKey: (key: string, from: number, to: number) => void): number | null {
  i = skipWs(text, i + 1);
  if (text[i] === '}') return i + 1;
  for (;;) {
    const end = skipString(text, i);
    const key = text.slice(i + 1, end - 1);
    if (key.includes('\\')) return null;
    const from = skipWs(text, skipWs(text, end) + 1); // past the colon
    const to = skipValue(text, from);
    onKey(key, from, to);
    i = skipWs(text, to);
    if (text[i] === '}') return i + 1;
    i = skipWs(text, i + 1); // past the comma
  }
}

/**
 * The raw text of each record's quantity and metadata, in order, from a body JSON.parse accepted;
 * null when the body is not the plain shape this reads (then the caller takes the jsonb path).
 * A key given twice keeps its last value, as JSON.parse and jsonb do.
 */
export function rawFields(text: string): Raw | null {
  let raw: Raw | null = null;
  let ok = true;
  const top = walkObject(text, skipWs(text, 0), (key, from) => {
    if (key !== 'records' || text[from] !== '[') return;
    const r: Raw = { quantity: [], metadata: [] };
    let i = skipWs(text, from + 1);
    if (text[i] === ']') return void (raw = r);
    for (;;) {
      const n = r.quantity.length;
      r.quantity.push('');
      r.metadata.push('');
      if (text[i] === '{') {
        const end = walkObject(text, i, (k, a, b) => {
          if (k === 'quantity') r.quantity[n] = text.slice(a, b);
          else if (k === 'metadata') r.metadata[n] = text.slice(a, b);
        });
        if (end === null) return void (ok = false);
        i = end;
      } else i = skipValue(text, i);
      i = skipWs(text, i);
      if (text[i] === ']') return void (raw = r);
      i = skipWs(text, i + 1);
    }
  });
  return ok && top !== null ? raw : null;
}

// COPY's text format: backslash, tab, newline and carriage return are escaped (JSON whitespace may hold them).
const COPY_SPECIAL = /[\\\t\n\r]/g;
const HAS_SPECIAL = /[\\\t\n\r]/;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const BACKSLASHES = /\\/g;
const copyText = (s: string) => (HAS_SPECIAL.test(s) ? s.replace(COPY_SPECIAL, (c) => COPY_ESCAPES[c]!) : s);

// A number JSON.parse may not read exactly (16+ digits), or one jsonb would print otherwise than
// JSON.stringify (an exponent, trailing fraction zeros). A JSON number follows ':', ',' or '[',
// which keeps text inside strings (prices, ids) out; a string that matches only costs the raw walk.
const INEXACT = /[:,[]\s*-?(?:\d[\d.]{15}|[\d.]+[eE]|\d+\.\d*0[,}\]\s])/;

/** Whether every number in `text` is exactly the double JSON.parse reads and prints as jsonb does. */
export const parsedIsExact = (text: string) => !INEXACT.test(text);

/** A record that passed the batch's checks: the agents' wire shape, userId possibly left out. */
type GoodRecord = Omit<NativeRecord, 'userId'> & { userId?: string | null };

// Rows per chunk handed to the COPY stream: PostgreSQL parses one while the next is built.
const CHUNK_ROWS = 1000;

/**
 * A record's columns as one COPY text line without its end (usage_records' order, from id to
 * source); `quantity` and `metadata` are already in COPY's text form.
 */
export function copyFields(
  r: Omit<NativeRecord, 'userId'> & { readonly userId?: string | null },
  quantity: string,
  metadata: string,
): string {
  return (
    r.id +
    '\t' +
    r.recordedAt +
    '\t' +
    r.customerId +
    '\t' +
    (r.userId ?? '\\N') +
    '\t' +
    r.hostId +
    '\t' +
    r.service +
    '\t' +
    quantity +
    '\t' +
    r.unitPrice +
    '\t' +
    r.costNanos +
    '\t' +
    metadata +
    '\t' +
    r.source
  );
}

/**
 * The batch's good records as COPY text rows, in chunks built as the COPY stream reads them, or
 * null when the raw fields cannot be matched to the parsed records one for one (decided before
 * the first chunk). Every other field was validated to characters COPY takes as they are.
 */
export function copyChunks(batch: ValidBatch): Iterable<string> | null {
  // Without long digit runs, exponents or trailing fraction zeros anywhere in the body, each number
  // JSON.parse read has at most 15 digits, so it is exactly its text and the parsed values serve.
  const exact = parsedIsExact(batch.text);
  const raw = exact ? null : rawFields(batch.text);
  if (!exact && (raw === null || raw.quantity.length !== batch.records.length)) return null;
  const skip = new Set(batch.skip);
  const records = batch.records as readonly GoodRecord[];
  // Each slice must be the value JSON.parse read (a cheap check that the walk agrees with it).
  if (raw)
    for (let i = 0; i < records.length; i++)
      if (!skip.has(i) && (Number(raw.quantity[i]) !== records[i]!.quantity || raw.metadata[i]![0] !== '{')) return null;
  return (function* () {
    let out = '';
    let n = 0;
    for (let i = 0; i < records.length; i++) {
      if (skip.has(i)) continue;
      const r = records[i]!;
      let q: string;
      let m: string;
      if (raw) {
        q = raw.quantity[i]!;
        m = copyText(raw.metadata[i]!);
      } else {
        q = String(r.quantity);
        m = JSON.stringify(r.metadata);
        // JSON.stringify escapes tabs and line breaks: only its backslashes need COPY's escape.
        if (m.includes('\\')) m = m.replace(BACKSLASHES, '\\\\');
      }
      out += i + '\t' + copyFields(r, q, m) + '\n';
      if (++n % CHUNK_ROWS === 0) {
        yield out;
        out = '';
      }
    }
    if (out) yield out;
  })();
}

/** copyChunks as one string. */
export function copyRows(batch: ValidBatch): string | null {
  const chunks = copyChunks(batch);
  return chunks === null ? null : [...chunks].join('');
}

const STAGE = `CREATE TEMP TABLE IF NOT EXISTS ingest_stage (
  ord int4, id text, recorded_at int8, customer_id text, user_id text, host_id text, service text,
  quantity numeric, unit_price text, cost_nanos int8, metadata jsonb, source text) ON COMMIT DELETE ROWS`;

// The insert and rollups of storeBatch (ingest.ts), reading the staging table. (An anti-join and
// a plain INSERT instead of ON CONFLICT measured 3-5 % less server CPU once the id index probe was
// forced, and a hash anti-join scans the whole table: not worth a second statement.)
export const INSERT = `
WITH ins AS (
  INSERT INTO usage_records (id, recorded_at, customer_id, user_id, host_id, service, quantity, unit_price, cost_nanos, metadata, source, received_at)
  -- 6 decimals, as the agents keep (quantity.ts); metadata as jsonb's text, as before.
  SELECT id, recorded_at, customer_id, user_id, host_id, service, round(quantity, 6), unit_price, cost_nanos, metadata::text, source, $1::int8
  FROM ingest_stage ORDER BY ord
  ON CONFLICT (id) DO NOTHING
  RETURNING recorded_at, customer_id, service, quantity, cost_nanos
), hours AS (
  -- Folded by hour, the hours by day, the days by week and month: each level folds the groups
  -- of the one below, not every row again.
  SELECT recorded_at - recorded_at % 3600000 AS hour, customer_id, service, count(*) AS n, sum(quantity) AS q,
    sum(cost_nanos) AS c, min(quantity) AS lo, max(quantity) AS hi
  FROM ins GROUP BY 1, customer_id, service
), days AS (
  SELECT hour - hour % 86400000 AS day, customer_id, service, sum(n) AS n, sum(q) AS q, sum(c) AS c, min(lo) AS lo, max(hi) AS hi
  FROM hours GROUP BY 1, customer_id, service
), coarse AS (
  SELECT 'week' AS period, day - ((day / 86400000 + 3) % 7) * 86400000 AS bucket_start, customer_id, service, n, q, c, lo, hi FROM days
  UNION ALL SELECT 'month', (extract(epoch FROM date_trunc('month', to_timestamp(day / 1000) AT TIME ZONE 'UTC')) * 1000)::int8,
    customer_id, service, n, q, c, lo, hi FROM days
), folded AS (
  SELECT 'hour' AS period, hour AS bucket_start, customer_id, service, n, q, c, lo, hi FROM hours
  UNION ALL SELECT 'day', day, customer_id, service, n, q, c, lo, hi FROM days
  UNION ALL SELECT period, bucket_start, customer_id, service, sum(n), sum(q), sum(c), min(lo), max(hi)
    FROM coarse GROUP BY period, bucket_start, customer_id, service
), up AS (
  INSERT INTO rollups (period, bucket_start, customer_id, service, event_count, sum_quantity, sum_cost_nanos, min_quantity, max_quantity)
  -- A fixed order: concurrent agents touching the same rollup rows lock them in the same order.
  SELECT period, bucket_start, customer_id, service, n::int8, q, c::int8, lo, hi FROM folded ORDER BY period, bucket_start, customer_id, service
  ${ADD_TO_ROLLUPS}
  RETURNING 1
)
SELECT (SELECT count(*) FROM ins)::int4 AS inserted, (SELECT count(*) FROM up)::int4 AS touched`;

// Connections whose session already has the staging table (created outside any transaction,
// so a rolled-back batch cannot take it away).
const staged = new WeakSet<object>();

/** Stores `rows` (copyChunks, read once) in one transaction; returns how many were new. */
export async function copyBatch(pool: pg.Pool, rows: Iterable<string>, now: number): Promise<number> {
  const { from: copyFrom } = await import('pg-copy-streams');
  const client = await pool.connect();
  let broken = false;
  try {
    if (!staged.has(client)) {
      await client.query(STAGE);
      staged.add(client);
    }
    await client.query('BEGIN');
    try {
      await pipeline(Readable.from(rows), client.query(copyFrom('COPY ingest_stage FROM STDIN')));
      // The statement and COMMIT in one round trip (the simple protocol, `now` inlined as the whole
      // number it is): the rollup rows it locks are released without waiting for this process's
      // event loop, which concurrent agents' batches touching the same rows would otherwise wait on.
      const [r] = (await client.query(`${INSERT.replace('$1', String(Math.trunc(now)))};\nCOMMIT`)) as unknown as [
        pg.QueryResult<{ inserted: number }>,
      ];
      return Number(r!.rows[0]!.inserted);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw err;
    }
  } finally {
    client.release(broken);
  }
}

// The pool behind each kysely instance opened by openCollectorDb, for stores given only `db`.
const pools = new WeakMap<object, pg.Pool>();
export const registerPool = (db: object, pool: pg.Pool) => void pools.set(db, pool);
export const poolOf = (db: object): pg.Pool | undefined => pools.get(db);
