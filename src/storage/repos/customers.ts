// Customers (tenants): SQL for `customers`, mapped to domain values. A customer also appears by
// itself on its first event (a trigger in migration 0008), so adding one that exists is a conflict.
import type { Kysely, Selectable } from 'kysely';
import type { Customer } from '../../core/api/tenants';
import { TallyError } from '../../core/errors';
import type { CustomersTable, Database } from '../schema';

export function rowToCustomer(row: Selectable<CustomersTable>): Customer {
  return {
    id: row.id,
    displayName: row.display_name,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

export async function listCustomers(db: Kysely<Database>): Promise<Customer[]> {
  const rows = await db.selectFrom('customers').selectAll().orderBy('id').execute();
  return rows.map(rowToCustomer);
}

export async function getCustomer(db: Kysely<Database>, id: string): Promise<Customer | null> {
  const row = await db.selectFrom('customers').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? rowToCustomer(row) : null;
}

export async function addCustomer(
  db: Kysely<Database>,
  c: { id: string; displayName?: string | undefined; metadata?: Record<string, unknown> | undefined },
  now: number,
): Promise<Customer> {
  const res = await db
    .insertInto('customers')
    .values({ id: c.id, display_name: c.displayName ?? null, metadata: JSON.stringify(c.metadata ?? {}), created_at: now })
    .onConflict((oc) => oc.column('id').doNothing())
    .executeTakeFirst();
  if (Number(res.numInsertedOrUpdatedRows ?? 0n) === 0)
    throw new TallyError('conflict', `id: customer "${c.id}" already exists (change it with customers update)`, { field: 'id' });
  return (await getCustomer(db, c.id))!;
}

export async function updateCustomer(
  db: Kysely<Database>,
  id: string,
  change: { displayName?: string | null | undefined; metadata?: Record<string, unknown> | undefined },
): Promise<Customer> {
  const set: { display_name?: string | null; metadata?: string } = {};
  if (change.displayName !== undefined) set.display_name = change.displayName;
  if (change.metadata !== undefined) set.metadata = JSON.stringify(change.metadata);
  if (Object.keys(set).length > 0) await db.updateTable('customers').set(set).where('id', '=', id).execute();
  const c = await getCustomer(db, id);
  if (!c) throw new TallyError('not_found', `id: no customer "${id}"`, { field: 'id' });
  return c;
}

export interface CustomerMonth {
  readonly customerId: string;
  readonly events: number;
  readonly costNanos: bigint;
  readonly services: number;
}

/** Event count and exact cost per customer in one month, read from the month rollups. */
export async function customerMonths(db: Kysely<Database>, monthStart: number): Promise<Map<string, CustomerMonth>> {
  const rows = await db
    .selectFrom('rollups')
    .select(['customer_id', 'event_count', 'sum_cost_nanos'])
    .where('period', '=', 'month')
    .where('bucket_start', '=', monthStart)
    .execute();
  const out = new Map<string, { customerId: string; events: number; costNanos: bigint; services: number }>();
  for (const r of rows) {
    const e = out.get(r.customer_id) ?? { customerId: r.customer_id, events: 0, costNanos: 0n, services: 0 };
    e.events += r.event_count;
    e.costNanos += BigInt(r.sum_cost_nanos);
    e.services += 1;
    out.set(r.customer_id, e);
  }
  return out;
}
