// Row types that match the SQL schema exactly (migrations/). Domain types live apart
// (src/core/records.ts, services.ts, pricing.ts); repositories map between the two.
import type { Generated, Insertable, Kysely, Selectable } from 'kysely';

export interface ServicesTable {
  name: string;
  display_name: string;
  base_unit: string;
  display_unit: string;
  display_factor: number;
  integer_only: number;
  required_fields: string;
  breakdown_keys: string;
  builtin: number;
  created_at: number;
  aggregation: Generated<'sum' | 'count' | 'max' | 'unique_count' | 'latest'>;
  aggregation_field: string | null;
  value_property: string | null;
  group_by: Generated<string>;
}

export interface PriceRulesTable {
  id: Generated<number>;
  service: string;
  effective_from: number;
  model: 'per_unit' | 'tiered' | 'volume' | 'package' | 'percentage' | 'dimension';
  spec: string;
  minimum_charge: string | null;
  created_at: number;
}

export interface UsageRecordsTable {
  seq: Generated<number>;
  id: string;
  recorded_at: number;
  customer_id: string;
  user_id: string | null;
  host_id: string;
  service: string;
  /** Exact integer units (src/core/quantity.ts): past 2^53 only through safeIntegers or CAST(… AS TEXT). */
  quantity: number | bigint;
  unit_price: string;
  cost_nanos: number;
  /** JSON. Storage records with `estimated: true` are also in the partial index usage_records_estimated (0019). */
  metadata: string;
  source: string;
  voided_at: number | null;
  voided_by: string | null;
  void_reason: string | null;
  amends: string | null;
}

export interface RollupsTable {
  period: 'hour' | 'day' | 'week' | 'month';
  bucket_start: number;
  customer_id: string;
  service: string;
  event_count: number;
  /** The exact sum of quantities is sum_quantity_hi × 2^32 + sum_quantity_lo (joinLimbs). */
  sum_quantity_hi: number;
  sum_quantity_lo: number;
  sum_cost_nanos: number;
  min_quantity: number | bigint;
  max_quantity: number | bigint;
}

export interface QuotasTable {
  id: Generated<number>;
  customer_id: string;
  service: string;
  period: 'day' | 'month';
  limit_quantity: number;
  created_at: number;
}

export interface AlertLogTable {
  id: Generated<number>;
  customer_id: string;
  service: string;
  period: string;
  period_start: number;
  level: 'warning' | 'critical' | 'exceeded' | 'forecast';
  percent: number;
  usage_quantity: number;
  limit_quantity: number;
  message: string;
  created_at: number;
}

export interface SyncStateTable {
  target: string;
  acked_seq: number;
  last_success: number | null;
  last_error: string | null;
  next_attempt: number | null;
  updated_at: number;
  attempts: Generated<number>;
  /** Why the target stopped (credentials refused), or null while it runs. */
  stopped: string | null;
  /** Since when a batch's outcome is unknown (vendors with short dedup windows hold it for review). */
  unknown_since: number | null;
  unknown_to_seq: number | null;
}

export interface SyncTargetsTable {
  name: string;
  kind: 'openmeter' | 'lago' | 'stripe' | 'tally';
  url: string;
  /** Before secrets moved to the 0600 secrets file; kept empty now. */
  token: string | null;
  options: Generated<string>;
  enabled: Generated<number>;
  created_at: number;
  updated_at: number;
}

export interface SyncRejectionsTable {
  target: string;
  seq: number;
  id: string;
  kind: 'rejected' | 'review';
  reason: string;
  at: number;
}

export interface ArchiveLogTable {
  id: Generated<number>;
  file: string;
  sha256: string;
  record_count: number;
  min_recorded_at: number | null;
  max_recorded_at: number | null;
  cutoff: number;
  created_at: number;
  restored_at: number | null;
}

export interface ArchivedIdsTable {
  id: string;
  archive: string;
}

export interface HookDeliveriesTable {
  id: Generated<number>;
  alert_id: number;
  hook: string;
  attempt: number;
  outcome: 'delivered' | 'failed' | 'gave_up';
  status: number | null;
  error: string | null;
  at: number;
}

export interface ScheduleRunsTable {
  id: Generated<number>;
  job: string;
  started_at: number;
  finished_at: number;
  ok: number;
  result: string;
}

export interface CollectorStateTable {
  collector: string;
  key: string;
  value: string;
  updated_at: number;
}

export interface SettingsTable {
  key: string;
  value: string;
}

export interface CorrectionsTable {
  seq: Generated<number>;
  kind: 'void' | 'amend';
  record_id: string;
  record_seq: number;
  new_id: string | null;
  new_seq: number | null;
  customer_id: string;
  service: string;
  recorded_at: number;
  quantity: number;
  cost_nanos: number;
  delta_cost_nanos: number;
  reason: string;
  actor: string;
  at: number;
  /** JSON [[id, cost_nanos], …] of the costs the correction changed (migration 0017). */
  costs: Generated<string>;
}

export interface SyncCorrectionsTable {
  target: string;
  correction_seq: number;
  state: 'delivered' | 'manual' | 'done';
  note: string;
  at: number;
}

export interface ClosedStatementsTable {
  month: string;
  month_start: number;
  body: string;
  sha256: string;
  basis: string;
  max_seq: number;
  max_correction_seq: number;
  closed_at: number;
  closed_by: string;
}

export interface CreditGrantsTable {
  id: Generated<number>;
  customer_id: string;
  amount_nanos: number;
  priority: number;
  effective_at: number;
  expires_at: number | null;
  note: string | null;
  created_at: number;
  voided_at: number | null;
  void_reason: string | null;
}

export interface UniqueValuesTable {
  period: 'day' | 'week' | 'month';
  bucket_start: number;
  customer_id: string;
  service: string;
  value: string;
}

export interface BalanceAlertsTable {
  id: Generated<number>;
  customer_id: string;
  threshold: string;
  granted_nanos: number;
  balance_nanos: number;
  message: string;
  created_at: number;
}

export interface CustomersTable {
  id: string;
  display_name: string | null;
  metadata: string;
  created_at: number;
  /** IANA zone; null: the installation's (migration 0013). */
  timezone: Generated<string | null>;
}

export interface ApiKeysTable {
  id: string;
  key_hash: string;
  customer_id: string;
  scope: 'ingest' | 'read';
  name: string | null;
  rate_per_minute: number | null;
  created_at: number;
  revoked_at: number | null;
}

export interface SchemaMigrationsTable {
  id: number;
  name: string;
  applied_at: number;
}

/**
 * Per UTC day × customer × service: how many live records carried each quantity (migration 0016).
 * Since 0018 the deltas not yet folded into quantity_histogram_packed (n may be negative).
 */
export interface QuantityHistogramTable {
  service: string;
  day: number;
  customer_id: string;
  quantity: number | bigint;
  n: number;
}

/** The packed histogram (migration 0018): one row per UTC day × customer × service (src/storage/histogram.ts). */
export interface QuantityHistogramPackedTable {
  service: string;
  day: number;
  customer_id: string;
  n: number;
  /** Distinct quantities ascending, 8-byte big-endian each. */
  quantities: Uint8Array;
  /** Their counts, 8-byte big-endian each; null when every count is 1. */
  counts: Uint8Array | null;
}

export interface Database {
  services: ServicesTable;
  price_rules: PriceRulesTable;
  usage_records: UsageRecordsTable;
  rollups: RollupsTable;
  quotas: QuotasTable;
  alert_log: AlertLogTable;
  sync_state: SyncStateTable;
  collector_state: CollectorStateTable;
  settings: SettingsTable;
  schema_migrations: SchemaMigrationsTable;
  quantity_histogram: QuantityHistogramTable;
  quantity_histogram_packed: QuantityHistogramPackedTable;
  customers: CustomersTable;
  api_keys: ApiKeysTable;
  credit_grants: CreditGrantsTable;
  balance_alerts: BalanceAlertsTable;
  unique_values: UniqueValuesTable;
  corrections: CorrectionsTable;
  sync_corrections: SyncCorrectionsTable;
  closed_statements: ClosedStatementsTable;
  sync_targets: SyncTargetsTable;
  sync_rejections: SyncRejectionsTable;
  archive_log: ArchiveLogTable;
  archived_ids: ArchivedIdsTable;
  hook_deliveries: HookDeliveriesTable;
  schedule_runs: ScheduleRunsTable;
}

export type CorrectionDbRow = Selectable<CorrectionsTable>;
export type ServiceRow = Selectable<ServicesTable>;
export type PriceRuleRow = Selectable<PriceRulesTable>;
export type UsageRecordRow = Selectable<UsageRecordsTable>;
export type NewUsageRecordRow = Insertable<UsageRecordsTable>;
export type RollupRow = Selectable<RollupsTable>;
export type QuotaRow = Selectable<QuotasTable>;
export type AlertRow = Selectable<AlertLogTable>;

/**
 * A read-only handle: kysely without the statements that change anything. Report code takes
 * this, so a read path cannot write (the connection behind it is query_only as well).
 */
export type ReadDb = Omit<
  Kysely<Database>,
  'insertInto' | 'replaceInto' | 'updateTable' | 'deleteFrom' | 'mergeInto' | 'schema' | 'transaction' | 'connection'
>;
