// The customer picker's reach: every call that takes a customer is made for the chosen one, so
// each page shows that customer's numbers without knowing about the picker. A read key's
// dashboard is fixed to its customer by the agent; the picker is hidden there.
import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import type { HandlerName, TallyClient } from '../../core/api/contract';
import { TransportProvider, useApi, useTransport } from './api';

/** Calls whose `customerId` narrows them to one customer. */
const BY_CUSTOMER_ID: ReadonlySet<HandlerName> = new Set<HandlerName>([
  'report.usage',
  'analytics.aggregate',
  'analytics.stats',
  'analytics.trends',
  'analytics.peaks',
  'analytics.projection',
  'analytics.breakdown',
  'analytics.topUsers',
  'analytics.errors',
  'analytics.latency',
  'quotas.list',
  'alerts.list',
  'alerts.current',
  'statement.month',
  'export.file',
  'credits.list',
  'credits.balance',
  'report.zoned',
  'zones.get',
]);
/** Calls that name it `customer`. */
const BY_CUSTOMER: ReadonlySet<HandlerName> = new Set<HandlerName>(['events.list', 'events.tail']);

const STORAGE_KEY = 'tally.customer';

export function scopedClient(client: TallyClient, customer: string): TallyClient {
  return {
    call(name, args) {
      const a = (args ?? {}) as Record<string, unknown>;
      if (BY_CUSTOMER_ID.has(name) && a.customerId === undefined) return client.call(name, { ...a, customerId: customer } as never);
      if (BY_CUSTOMER.has(name) && a.customer === undefined) return client.call(name, { ...a, customer } as never);
      return client.call(name, args);
    },
    on: (event, listener) => client.on(event, listener),
  };
}

export function useChosenCustomer(): [string | null, (c: string | null) => void] {
  const [customer, setCustomer] = useState<string | null>(() => {
    try {
      return window.localStorage.getItem(STORAGE_KEY);
    } catch {
      return null;
    }
  });
  const choose = (c: string | null) => {
    try {
      if (c === null) window.localStorage.removeItem(STORAGE_KEY);
      else window.localStorage.setItem(STORAGE_KEY, c);
    } catch {
      // Storage may be off (private windows): the choice lasts for this page only.
    }
    setCustomer(c);
  };
  return [customer, choose];
}

/** Re-provides the transport with a client narrowed to `customer` (null: all customers). */
export function CustomerScope({ customer, children }: { customer: string | null; children: ReactNode }) {
  const transport = useTransport();
  const scoped = useMemo(
    () => (customer === null ? transport : { ...transport, client: scopedClient(transport.client, customer) }),
    [transport, customer],
  );
  return <TransportProvider transport={scoped}>{children}</TransportProvider>;
}

export function CustomerPicker({
  customer,
  onChange,
  session,
}: {
  customer: string | null;
  onChange: (c: string | null) => void;
  session: Session;
}) {
  if (session.scope !== 'admin') {
    return (
      <p className="customer-picker" data-testid="customer-fixed">
        <span>Customer</span> <strong>{session.customer}</strong>
      </p>
    );
  }
  return <AllCustomersPicker customer={customer} onChange={onChange} />;
}

function AllCustomersPicker({ customer, onChange }: { customer: string | null; onChange: (c: string | null) => void }) {
  const [customers] = useApi('customers.list', {});
  const ids = customers.status === 'ok' ? customers.data.map((c) => c.id) : [];
  if (customer !== null && !ids.includes(customer)) ids.push(customer);
  return (
    <label className="customer-picker">
      <span>Customer</span>
      <select
        data-testid="customer-picker"
        value={customer ?? ''}
        onChange={(e) => onChange(e.target.value === '' ? null : e.target.value)}
      >
        <option value="">All customers</option>
        {ids.map((id) => (
          <option key={id} value={id}>
            {customers.status === 'ok' ? (customers.data.find((c) => c.id === id)?.displayName ?? id) : id}
          </option>
        ))}
      </select>
    </label>
  );
}

/** Lets a page change the chosen customer (the Customers page opens one). */
export const CustomerChoice = createContext<(customer: string | null) => void>(() => undefined);

export function useChooseCustomer(): (customer: string | null) => void {
  return useContext(CustomerChoice);
}

/** Who this dashboard is for: the admin, or one customer (a read key's link). */
export type Session = { readonly scope: 'admin' } | { readonly scope: 'read' | 'ingest'; readonly customer: string };

const ADMIN: Session = { scope: 'admin' };

export function useSession(): Session {
  const { kind } = useTransport();
  const [session, setSession] = useState<Session>(ADMIN);
  useEffect(() => {
    if (kind !== 'http') return; // the desktop window is the admin's
    let live = true;
    void fetch('/api/session', { credentials: 'same-origin' })
      .then((r) => (r.ok ? (r.json() as Promise<Session>) : ADMIN))
      .then((s) => live && setSession(s))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [kind]);
  return session;
}

/** A customer's own dashboard has no settings and no other customers. */
export function pageAllowed(page: string, session: Session): boolean {
  return session.scope === 'admin' || !['settings', 'customers', 'export'].includes(page);
}
