// Service layer for customers (tenants) and their scoped API keys.
import type { tenantArgs } from '../core/api/tenants';
import { TallyError } from '../core/errors';
import { formatNanos } from '../core/money';
import { parseDateArg } from '../core/period';
import { monthStart } from '../core/time';
import { addCustomer, customerMonths, getCustomer, listCustomers, updateCustomer } from '../storage/repos/customers';
import { createKey, listKeys, revokeKey } from '../storage/repos/keys';
import type { AgentContext } from './context';
import type { Implementation } from './handlers';

/** Makes sure a customer row exists before a key names it; an existing one is left as it is. */
async function ensureCustomer(ctx: AgentContext, id: string): Promise<void> {
  if (!(await getCustomer(ctx.tdb.db, id))) await addCustomer(ctx.tdb.db, { id }, ctx.now()).catch(() => undefined);
}

export function tenantHandlers(ctx: AgentContext): Implementation<keyof typeof tenantArgs> {
  const db = ctx.tdb.db;
  return {
    'customers.list': async ({ month }) => {
      const start = month === undefined ? monthStart(ctx.now()) : parseMonth(month);
      const [customers, months] = await Promise.all([listCustomers(db), customerMonths(db, start)]);
      const label = new Date(start).toISOString().slice(0, 7);
      return customers.map((c) => {
        const m = months.get(c.id);
        return { ...c, month: label, events: m?.events ?? 0, cost: formatNanos(m?.costNanos ?? 0n), services: m?.services ?? 0 };
      });
    },
    'customers.get': async ({ id }) => {
      const c = await getCustomer(db, id);
      if (!c) throw new TallyError('not_found', `id: no customer "${id}"`, { field: 'id' });
      return c;
    },
    'customers.add': (args) => addCustomer(db, args, ctx.now()),
    'customers.update': ({ id, ...change }) => updateCustomer(db, id, change),
    'keys.create': async (args) => {
      await ensureCustomer(ctx, args.customer);
      return createKey(db, args, ctx.now());
    },
    'keys.list': (args) => listKeys(db, args),
    'keys.revoke': ({ id }) => revokeKey(db, id, ctx.now()),
  };
}

function parseMonth(month: string): number {
  if (!/^\d{4}-\d{2}$/.test(month))
    throw new TallyError('invalid_input', `month: "${month.slice(0, 20)}" must be YYYY-MM`, { field: 'month' });
  return parseDateArg('month', month);
}
