// Where the collector keeps the records it receives: PostgreSQL (the default) or ClickHouse.
// Tokens, service definitions and the forwarding state stay in PostgreSQL either way (the
// control store, db.ts): small, transactional, shared by every collector process. The store
// holds the records and their rollups, and answers the org-wide report and export.
import type { Writable } from 'node:stream';
import type { ReportSource } from '../analytics/usage';
import type { NativeRecord } from '../core/sync/native';
import type { CollectorCorrection, CorrectionsReply } from './corrections';

/** A validated request: its JSON text, the parsed records, and the indexes refused. */
export interface ValidBatch {
  readonly text: string;
  readonly records: readonly unknown[];
  readonly skip: readonly number[];
}

export interface CollectorStore {
  readonly kind: 'postgres' | 'clickhouse';
  /** Stores the good records of one batch of `hostId`; returns how many were new (the rest were held already). */
  store(batch: ValidBatch, hostId: string, now: number): Promise<number>;
  /**
   * Stores a request body in the agents' own form with every record good, read without parsing
   * (PostgreSQL: pg-scan.ts), or `batch()` (the same records parsed, none refused) when some of its
   * ids are held already; null when the body is not in that form (then: readBatch and store).
   */
  storeWire?(text: string, batch: () => ValidBatch, hostId: string, now: number): Promise<{ count: number; inserted: number } | null>;
  /** Sums for the core's usage report. */
  readonly report: ReportSource;
  /** Every service with rollups, for definitions the control store lacks. */
  seenServices(): Promise<string[]>;
  /** Applies an agent's voids and amends (the records stay, marked); `now` is the collector's clock. */
  correct(hostId: string, list: readonly CollectorCorrection[], now: number): Promise<CorrectionsReply>;
  /** Every live record of [from, to) as CSV with a header, ordered by time then id. */
  exportCsv(range: { from: number; to: number }, out: Writable): Promise<void>;
  close(): Promise<void>;
}

/** The good records of a batch, in order. */
export function goodRecords(batch: ValidBatch): NativeRecord[] {
  const skip = new Set(batch.skip);
  return batch.records.filter((_, i) => !skip.has(i)) as NativeRecord[];
}

/** The export's columns, the same for both stores. */
export const EXPORT_COLUMNS = [
  'id',
  'recorded_at',
  'customer_id',
  'user_id',
  'host_id',
  'service',
  'quantity',
  'unit_price',
  'cost_nanos',
  'metadata',
  'source',
] as const;
