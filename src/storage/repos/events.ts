// The event log: raw usage records newest first, paged by a keyset cursor on (recorded_at, seq)
// that the time index serves. A page starts strictly after the last row of the previous one, so
// events arriving meanwhile never shift a page: nothing is skipped or repeated.
import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import type { EventEntry } from '../../core/api/events';
import { invalid } from '../../core/errors';
import { formatNanos } from '../../core/money';
import { FRACTION_DIGITS, formatUnits } from '../../core/quantity';
import type { Database, UsageRecordRow } from '../schema';

export interface EventFilter {
  readonly customer?: string | undefined;
  readonly service?: string | undefined;
  readonly user?: string | undefined;
  readonly from?: number | undefined;
  readonly to?: number | undefined;
}

/** A row with its quantity read exactly: integer units as text, and whether the service counts whole units. */
type EventRow = UsageRecordRow & { units: string; whole: number | null };

/** selectAll() plus the exact quantity (core/quantity.ts: units, millionths for fractional services). */
function selectEvent(db: Kysely<Database>) {
  return db
    .selectFrom('usage_records')
    .selectAll()
    .select([
      sql<string>`CAST(quantity AS TEXT)`.as('units'),
      sql<number | null>`(SELECT integer_only FROM services s WHERE s.name = usage_records.service)`.as('whole'),
    ]);
}

/** The base quantity: a number when a double shows it exactly, else its exact decimal text. */
function baseQuantity(row: EventRow): number | string {
  const text = formatUnits(BigInt(row.units), row.whole === 0 ? FRACTION_DIGITS : 0);
  const n = Number(text);
  return String(n) === text ? n : text;
}

export function rowToEvent(row: EventRow): EventEntry {
  return {
    id: row.id,
    seq: row.seq,
    recordedAt: new Date(row.recorded_at).toISOString(),
    customer: row.customer_id,
    user: row.user_id,
    host: row.host_id,
    service: row.service,
    // Exact: a quantity beyond 2^53 travels as a decimal string.
    quantity: baseQuantity(row),
    unitPrice: row.unit_price,
    cost: formatNanos(row.cost_nanos),
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    source: row.source,
    voidedAt: row.voided_at === null ? null : new Date(row.voided_at).toISOString(),
  };
}

interface Cursor {
  readonly at: number;
  readonly seq: number;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.at}.${c.seq}`, 'utf8').toString('base64url');
}

export function decodeCursor(text: string): Cursor {
  const m = /^(-?\d{1,16})\.(\d{1,16})$/.exec(Buffer.from(text, 'base64url').toString('utf8'));
  if (!m) throw invalid('cursor', 'is not a cursor this agent gave out (pass next_cursor as it came)');
  return { at: Number(m[1]), seq: Number(m[2]) };
}

function filtered<O>(q: SelectQueryBuilder<Database, 'usage_records', O>, f: EventFilter) {
  if (f.customer !== undefined) q = q.where('customer_id', '=', f.customer);
  if (f.service !== undefined) q = q.where('service', '=', f.service);
  if (f.user !== undefined) q = q.where('user_id', '=', f.user);
  if (f.from !== undefined) q = q.where('recorded_at', '>=', f.from);
  if (f.to !== undefined) q = q.where('recorded_at', '<', f.to);
  return q;
}

export async function listEvents(
  db: Kysely<Database>,
  f: EventFilter,
  page: { limit: number; cursor?: string | undefined },
): Promise<{ events: EventEntry[]; total_count: number; next_cursor: string | null }> {
  let q = filtered(selectEvent(db), f);
  if (page.cursor !== undefined) {
    const c = decodeCursor(page.cursor);
    q = q.where((eb) => eb.or([eb('recorded_at', '<', c.at), eb.and([eb('recorded_at', '=', c.at), eb('seq', '<', c.seq)])]));
  }
  // One row more than asked says whether another page exists.
  const rows = await q
    .orderBy('recorded_at', 'desc')
    .orderBy('seq', 'desc')
    .limit(page.limit + 1)
    .execute();
  const count = await filtered(
    db.selectFrom('usage_records').select((eb) => eb.fn.countAll<number>().as('n')),
    f,
  ).executeTakeFirstOrThrow();
  const more = rows.length > page.limit;
  const shown = more ? rows.slice(0, page.limit) : rows;
  const last = shown[shown.length - 1];
  return {
    events: shown.map(rowToEvent),
    total_count: Number(count.n),
    next_cursor: more && last ? encodeCursor({ at: last.recorded_at, seq: last.seq }) : null,
  };
}

export async function getEvent(db: Kysely<Database>, id: string): Promise<EventEntry | null> {
  const row = await selectEvent(db).where('id', '=', id).executeTakeFirst();
  return row ? rowToEvent(row) : null;
}

/** Events stored after `afterSeq`, oldest first; without it, only where the log ends now. */
export async function tailEvents(
  db: Kysely<Database>,
  f: EventFilter,
  afterSeq: number | undefined,
  limit: number,
): Promise<{ events: EventEntry[]; lastSeq: number }> {
  if (afterSeq === undefined) {
    const top = await db
      .selectFrom('usage_records')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .executeTakeFirst();
    return { events: [], lastSeq: Number(top?.seq ?? 0) };
  }
  const rows = await filtered(selectEvent(db), f).where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute();
  return { events: rows.map(rowToEvent), lastSeq: rows.at(-1)?.seq ?? afterSeq };
}
