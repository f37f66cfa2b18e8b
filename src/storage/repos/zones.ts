// Customers' time zones (customers.timezone, migration 0013). A customer without one follows
// the installation's zone (config timezone).
import type { Kysely } from 'kysely';
import type { Database, ReadDb } from '../schema';
import { checkTimeZone } from '../../core/zone';
import { CUSTOMER_ID } from '../../core/services';
import { invalid } from '../../core/errors';

export async function customerZone(db: ReadDb, customerId: string): Promise<string | null> {
  const row = await db.selectFrom('customers').select('timezone').where('id', '=', customerId).executeTakeFirst();
  return row?.timezone ?? null;
}

/** Sets (or with null clears) a customer's zone; a customer not seen yet is created. Returns the canonical name. */
export async function setCustomerZone(db: Kysely<Database>, customerId: string, zone: string | null, now: number): Promise<string | null> {
  if (!CUSTOMER_ID.test(customerId)) throw invalid('customerId', 'must be 1-128 characters of letters, digits and . _ : @ -');
  const canonical = zone === null ? null : checkTimeZone(zone);
  await db
    .insertInto('customers')
    .values({ id: customerId, display_name: null, metadata: '{}', created_at: now, timezone: canonical })
    .onConflict((oc) => oc.column('id').doUpdateSet({ timezone: canonical }))
    .execute();
  return canonical;
}
