// Prepaid credit grants: SQL for `credit_grants` and `balance_alerts`, mapped to domain values.
import type { Kysely, Selectable } from 'kysely';
import type { CreditGrantsTable, Database } from '../schema';
import { invalid, TallyError } from '../../core/errors';
import type { CreditGrant } from '../../core/credits';
import { parseDecimalToNanos } from '../../core/money';
import { CUSTOMER_ID } from '../../core/services';

type GrantRow = Selectable<CreditGrantsTable>;

export function rowToGrant(row: GrantRow): CreditGrant {
  return {
    id: row.id,
    customerId: row.customer_id,
    amountNanos: BigInt(row.amount_nanos),
    priority: row.priority,
    effectiveAt: row.effective_at,
    expiresAt: row.expires_at,
    note: row.note,
    createdAt: row.created_at,
    voidedAt: row.voided_at,
    voidReason: row.void_reason,
  };
}

export interface NewGrant {
  readonly customerId: string;
  /** Decimal amount of the currency, e.g. "50" or "12.50". */
  readonly amount: string;
  readonly priority?: number | undefined;
  readonly effectiveAt: number;
  readonly expiresAt?: number | null | undefined;
  readonly note?: string | null | undefined;
}

/** Checks a grant from outside; throws invalid(...) naming the field. */
export function checkGrant(g: NewGrant): number {
  if (typeof g.customerId !== 'string' || !CUSTOMER_ID.test(g.customerId))
    throw invalid('customerId', 'must be 1-128 characters of letters, digits and . _ : @ - (starting with a letter or digit)');
  let nanos: number;
  try {
    nanos = parseDecimalToNanos(g.amount);
  } catch (err) {
    throw invalid('amount', (err as Error).message);
  }
  if (nanos <= 0) throw invalid('amount', 'must be greater than 0');
  if (g.priority !== undefined && !(Number.isInteger(g.priority) && g.priority >= 0 && g.priority <= 100))
    throw invalid('priority', 'must be a whole number from 0 (drawn first) to 100');
  if (g.expiresAt != null && g.expiresAt <= g.effectiveAt) throw invalid('expires', 'must be after the grant takes effect');
  if (g.note != null && g.note.length > 500) throw invalid('note', 'must be at most 500 characters');
  return nanos;
}

export async function grantCredit(db: Kysely<Database>, g: NewGrant, now: number): Promise<CreditGrant> {
  const nanos = checkGrant(g);
  const row = await db
    .insertInto('credit_grants')
    .values({
      customer_id: g.customerId,
      amount_nanos: nanos,
      priority: g.priority ?? 50,
      effective_at: g.effectiveAt,
      expires_at: g.expiresAt ?? null,
      note: g.note ?? null,
      created_at: now,
      voided_at: null,
      void_reason: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return rowToGrant(row);
}

export async function listGrants(db: Kysely<Database>, q: { customerId?: string | undefined } = {}): Promise<CreditGrant[]> {
  let sel = db.selectFrom('credit_grants').selectAll().orderBy('customer_id').orderBy('id');
  if (q.customerId !== undefined) sel = sel.where('customer_id', '=', q.customerId);
  return (await sel.execute()).map(rowToGrant);
}

/** Customers holding any grant (void ones included: their history still explains statements). */
export async function customersWithGrants(db: Kysely<Database>): Promise<string[]> {
  const rows = await db.selectFrom('credit_grants').select('customer_id').distinct().orderBy('customer_id').execute();
  return rows.map((r) => r.customer_id);
}

/** Voids a grant: it stops covering statements; the row stays with when and why. */
export async function voidGrant(db: Kysely<Database>, id: number, reason: string, now: number): Promise<CreditGrant> {
  if (!reason.trim()) throw invalid('reason', 'must say why the grant is voided');
  const row = await db.selectFrom('credit_grants').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new TallyError('not_found', `no credit grant ${id}`, { field: 'id' });
  if (row.voided_at !== null) throw invalid('id', `grant ${id} was already voided`);
  const updated = await db
    .updateTable('credit_grants')
    .set({ voided_at: now, void_reason: reason })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
  return rowToGrant(updated);
}

export interface BalanceAlertRow {
  readonly customerId: string;
  readonly threshold: string;
  readonly grantedNanos: bigint;
  readonly balanceNanos: bigint;
  readonly message: string;
  readonly createdAt: number;
}

/** Logs a balance alert unless this threshold already fired for this granted total: its id when new, else null. */
export async function logBalanceAlert(db: Kysely<Database>, a: BalanceAlertRow): Promise<number | null> {
  const result = await db
    .insertInto('balance_alerts')
    .values({
      customer_id: a.customerId,
      threshold: a.threshold,
      granted_nanos: Number(a.grantedNanos),
      balance_nanos: Number(a.balanceNanos),
      message: a.message,
      created_at: a.createdAt,
    })
    .onConflict((oc) => oc.columns(['customer_id', 'threshold', 'granted_nanos']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0 ? Number(result.insertId) : null;
}

export async function listBalanceAlerts(db: Kysely<Database>, customerId?: string): Promise<BalanceAlertRow[]> {
  let sel = db.selectFrom('balance_alerts').selectAll().orderBy('id');
  if (customerId !== undefined) sel = sel.where('customer_id', '=', customerId);
  return (await sel.execute()).map((r) => ({
    customerId: r.customer_id,
    threshold: r.threshold,
    grantedNanos: BigInt(r.granted_nanos),
    balanceNanos: BigInt(r.balance_nanos),
    message: r.message,
    createdAt: r.created_at,
  }));
}
