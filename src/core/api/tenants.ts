// API contract: customers (tenants) and their scoped API keys. Arguments are zod schemas checked
// before any handler runs; replies are plain JSON described by the types below. A key's secret
// is in the reply of keys.create only, once; it is stored as a hash.
import { z } from 'zod';
import { customerIdText } from './args';

export const customerId = customerIdText;
const displayName = z.string().trim().min(1).max(200);
const metadata = z.record(z.string(), z.unknown());

export const KEY_SCOPES = ['ingest', 'read'] as const;
export type KeyScope = (typeof KEY_SCOPES)[number];

export interface Customer {
  readonly id: string;
  readonly displayName: string | null;
  readonly metadata: Record<string, unknown>;
  /** ISO instant; for a customer that appeared by its first event, that event's hour. */
  readonly createdAt: string;
}

/** A customer with this month's figures (the Customers page, `tally customers list`). */
export interface CustomerSummary extends Customer {
  readonly month: string;
  readonly events: number;
  /** Exact decimal string. */
  readonly cost: string;
  readonly services: number;
}

export interface ApiKeyInfo {
  readonly id: string;
  readonly customer: string;
  readonly scope: KeyScope;
  readonly name: string | null;
  /** Requests per minute; null: the agent's default (http.rateLimitPerMinute). */
  readonly rate: number | null;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

/** keys.create's reply: the key itself, shown once. */
export interface CreatedKey extends ApiKeyInfo {
  readonly key: string;
}

export const tenantArgs = {
  'customers.list': z.strictObject({ month: z.string().optional() }),
  'customers.get': z.strictObject({ id: customerId }),
  'customers.add': z.strictObject({ id: customerId, displayName: displayName.optional(), metadata: metadata.optional() }),
  'customers.update': z.strictObject({
    id: customerId,
    displayName: displayName.nullable().optional(),
    metadata: metadata.optional(),
  }),
  'keys.create': z.strictObject({
    customer: customerId,
    scope: z.enum(KEY_SCOPES),
    name: z.string().trim().min(1).max(100).optional(),
    rate: z.number().int().min(1).max(1_000_000).optional(),
  }),
  'keys.list': z.strictObject({ customer: customerId.optional(), revoked: z.boolean().optional() }),
  'keys.revoke': z.strictObject({ id: z.string().min(1).max(64) }),
};

export interface TenantReplies {
  'customers.list': CustomerSummary[];
  'customers.get': Customer;
  'customers.add': Customer;
  'customers.update': Customer;
  'keys.create': CreatedKey;
  'keys.list': ApiKeyInfo[];
  'keys.revoke': ApiKeyInfo;
}
