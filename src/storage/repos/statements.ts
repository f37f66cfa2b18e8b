// Closed statements and the month figures they freeze. SQL for src/analytics/closing.ts.
import { sql, type Kysely } from 'kysely';
import { joinLimbs } from '../../core/quantity';
import type { Database, ReadDb } from '../schema';

/** What a month bills per customer × service: exact units and nanos. */
export interface MonthFigure {
  readonly customerId: string;
  readonly service: string;
  readonly events: number;
  /** Exact units as decimal text (bigint in JSON). */
  readonly units: string;
  readonly costNanos: number;
}

export interface ClosedStatement {
  readonly month: string;
  readonly monthStart: number;
  readonly body: string;
  readonly sha256: string;
  readonly basis: readonly MonthFigure[];
  readonly maxSeq: number;
  readonly maxCorrectionSeq: number;
  readonly closedAt: number;
  readonly closedBy: string;
}

type Row = Database['closed_statements'];

function toClosed(r: Row): ClosedStatement {
  return {
    month: r.month,
    monthStart: r.month_start,
    body: r.body,
    sha256: r.sha256,
    basis: JSON.parse(r.basis) as MonthFigure[],
    maxSeq: r.max_seq,
    maxCorrectionSeq: r.max_correction_seq,
    closedAt: r.closed_at,
    closedBy: r.closed_by,
  };
}

export async function getClosedStatement(db: ReadDb, month: string): Promise<ClosedStatement | undefined> {
  const row = await db.selectFrom('closed_statements').selectAll().where('month', '=', month).executeTakeFirst();
  return row && toClosed(row);
}

export async function listClosedStatements(db: ReadDb): Promise<ClosedStatement[]> {
  return (await db.selectFrom('closed_statements').selectAll().orderBy('month_start').execute()).map(toClosed);
}

/** Stores a closed month once, with the sha256 of its body; a second close changes nothing (null). */
export async function insertClosedStatement(db: Kysely<Database>, row: Omit<ClosedStatement, 'sha256'>): Promise<ClosedStatement | null> {
  const c: ClosedStatement = { ...row, sha256: await sha256Hex(row.body) };
  const r = await db
    .insertInto('closed_statements')
    .values({
      month: c.month,
      month_start: c.monthStart,
      body: c.body,
      sha256: c.sha256,
      basis: JSON.stringify(c.basis),
      max_seq: c.maxSeq,
      max_correction_seq: c.maxCorrectionSeq,
      closed_at: c.closedAt,
      closed_by: c.closedBy,
    })
    .onConflict((oc) => oc.column('month').doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0 ? c : null;
}

/** Live figures of one month from the month rollups (voids and amends already applied). */
export async function monthFigures(db: Kysely<Database>, monthStart: number): Promise<MonthFigure[]> {
  const rows = await db
    .selectFrom('rollups')
    .select([
      'customer_id',
      'service',
      'event_count',
      sql<string>`CAST(sum_quantity_hi AS TEXT)`.as('hi'),
      sql<string>`CAST(sum_quantity_lo AS TEXT)`.as('lo'),
      'sum_cost_nanos',
    ])
    .where('period', '=', 'month')
    .where('bucket_start', '=', monthStart)
    .orderBy('customer_id')
    .orderBy('service')
    .execute();
  return rows.map((r) => ({
    customerId: r.customer_id,
    service: r.service,
    events: r.event_count,
    units: joinLimbs(r.hi, r.lo).toString(),
    costNanos: r.sum_cost_nanos,
  }));
}

/** The first month that has usage, or null. */
export async function firstUsageMonth(db: Kysely<Database>): Promise<number | null> {
  const r = await db
    .selectFrom('rollups')
    .select(sql<number | null>`min(bucket_start)`.as('first'))
    .where('period', '=', 'month')
    .executeTakeFirst();
  return r?.first ?? null;
}

/** The newest record and correction sequence numbers: what a month closed "before". */
export async function currentSeqs(db: Kysely<Database>): Promise<{ maxSeq: number; maxCorrectionSeq: number }> {
  const r = await db
    .selectNoFrom([
      sql<number | null>`(SELECT max(seq) FROM usage_records)`.as('records'),
      sql<number | null>`(SELECT max(seq) FROM corrections)`.as('corrections'),
    ])
    .executeTakeFirstOrThrow();
  return { maxSeq: r.records ?? 0, maxCorrectionSeq: r.corrections ?? 0 };
}

/** Live events and corrections of [from, to) stored after closed month `c` was frozen. */
export async function lateFigures(
  db: ReadDb,
  q: { from: number; to: number; service?: string | undefined; customerId?: string | undefined },
  c: Pick<ClosedStatement, 'maxSeq' | 'maxCorrectionSeq'>,
): Promise<{ events: number; cost: bigint; corrections: number }> {
  let records = db
    .selectFrom('usage_records')
    .select([sql<number>`count(*)`.as('n'), sql<string>`CAST(coalesce(sum(cost_nanos), 0) AS TEXT)`.as('cost')])
    .where('recorded_at', '>=', q.from)
    .where('recorded_at', '<', q.to)
    .where('seq', '>', c.maxSeq)
    .where('voided_at', 'is', null);
  let corrections = db
    .selectFrom('corrections')
    .select(sql<number>`count(*)`.as('n'))
    .where('recorded_at', '>=', q.from)
    .where('recorded_at', '<', q.to)
    .where('seq', '>', c.maxCorrectionSeq);
  if (q.service !== undefined) {
    records = records.where('service', '=', q.service);
    corrections = corrections.where('service', '=', q.service);
  }
  if (q.customerId !== undefined) {
    records = records.where('customer_id', '=', q.customerId);
    corrections = corrections.where('customer_id', '=', q.customerId);
  }
  const [r, k] = await Promise.all([records.executeTakeFirstOrThrow(), corrections.executeTakeFirstOrThrow()]);
  return { events: r.n, cost: BigInt(r.cost), corrections: k.n };
}

/** WebCrypto's SHA-256 (a global in Node and browsers alike: this module is in the renderer's type graph). */
async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
