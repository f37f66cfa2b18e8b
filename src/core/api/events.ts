// API contract: the event log, raw records newest first with a cursor that stays stable while
// new events arrive (keyset on recorded_at, seq). Replies carry money as decimal strings.
import { z } from 'zod';
import { customerId } from './tenants';

export interface EventEntry {
  readonly id: string;
  readonly seq: number;
  /** ISO instant (UTC). */
  readonly recordedAt: string;
  readonly customer: string;
  readonly user: string | null;
  readonly host: string;
  readonly service: string;
  /** In the service's base unit; decimal text when a double would not hold it exactly. */
  readonly quantity: number | string;
  readonly unitPrice: string;
  /** Exact decimal string. */
  readonly cost: string;
  readonly metadata: Record<string, unknown>;
  readonly source: string;
  /** ISO instant of a void, or null for a live event. */
  readonly voidedAt: string | null;
}

export interface EventPage {
  readonly events: EventEntry[];
  /** Events matching the filters when this page was read. */
  readonly total_count: number;
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  readonly next_cursor: string | null;
}

export const EVENTS_MAX_LIMIT = 1000;

export const eventFilterFields = {
  customer: customerId.optional(),
  service: z.string().min(1).max(128).optional(),
  user: z.string().min(1).max(128).optional(),
  /** ISO date or instant; inclusive. */
  from: z.string().optional(),
  /** ISO date or instant; exclusive for instants, inclusive for dates. */
  to: z.string().optional(),
};

export const eventArgs = {
  'events.list': z.strictObject({
    ...eventFilterFields,
    limit: z.number().int().min(1).max(EVENTS_MAX_LIMIT).default(100),
    cursor: z.string().max(100).optional(),
  }),
  'events.get': z.strictObject({ id: z.string().min(1).max(64) }),
  /** Events stored after `afterSeq` (in the order they arrived): what `tally events tail` follows. */
  'events.tail': z.strictObject({
    customer: eventFilterFields.customer,
    service: eventFilterFields.service,
    user: eventFilterFields.user,
    afterSeq: z.number().int().min(0).optional(),
    limit: z.number().int().min(1).max(EVENTS_MAX_LIMIT).default(100),
  }),
};

export interface EventTail {
  readonly events: EventEntry[];
  /** Pass as afterSeq next time; without afterSeq, the newest seq now (nothing is returned). */
  readonly lastSeq: number;
}

export interface EventReplies {
  'events.list': EventPage;
  'events.get': EventEntry;
  'events.tail': EventTail;
}
