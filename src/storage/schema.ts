// Row types that match the SQL schema exactly (migrations/). Domain types live apart
// (src/core/records.ts, services.ts, pricing.ts); repositories map between the two.
import type { Generated, Insertable, Selectable } from 'kysely';

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
}

export interface PriceRulesTable {
  id: Generated<number>;
  service: string;
  effective_from: number;
  model: 'per_unit' | 'tiered' | 'package';
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
  quantity: number;
  unit_price: string;
  cost_nanos: number;
  metadata: string;
  source: string;
}

export interface RollupsTable {
  period: 'hour' | 'day' | 'week' | 'month';
  bucket_start: number;
  customer_id: string;
  service: string;
  event_count: number;
  sum_quantity: number;
  sum_cost_nanos: number;
  min_quantity: number;
  max_quantity: number;
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

export interface SchemaMigrationsTable {
  id: number;
  name: string;
  applied_at: number;
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
}

export type ServiceRow = Selectable<ServicesTable>;
export type PriceRuleRow = Selectable<PriceRulesTable>;
export type UsageRecordRow = Selectable<UsageRecordsTable>;
export type NewUsageRecordRow = Insertable<UsageRecordsTable>;
export type RollupRow = Selectable<RollupsTable>;
export type QuotaRow = Selectable<QuotasTable>;
export type AlertRow = Selectable<AlertLogTable>;
