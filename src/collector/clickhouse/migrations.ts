// The collector's ClickHouse schema, numbered like the SQLite and PostgreSQL migrations. Each
// migration is a list of idempotent statements (ClickHouse has no transactional DDL: a migration
// cut half-way is simply run again), run on every shard's server, recorded in tally_migrations.
//
// events_local: one row per record. ReplacingMergeTree collapses rows with the same sorting key,
// and an id always comes with the same customer, service and time, so a re-sent record is one
// row again after merges; the store also drops ids it already holds before inserting (store.ts),
// so the materialized rollups never see a duplicate. Partitioned by UTC month; ordered by
// customer and time: the id look-ups before insert and per-customer reads find their granules
// by the key (org-wide reports read the rollups).
// rollups_local: hour/day/week/month sums per customer × service, filled by one materialized view
// per period on every insert into events_local (on each shard, for its own customers).
// Quantities are Decimal(38, 6): exact sums past 2^53, equal to PostgreSQL's numeric ones.
// events / rollups: Distributed tables over the cluster, sharded by customer, when there is one.
export interface ChLayout {
  readonly database: string;
  readonly cluster: string | null;
}

/** A statement, or one run only when `unless` (a SELECT of one count) finds nothing: 18.16 has no ADD COLUMN IF NOT EXISTS. */
export type ChStatement = string | { readonly sql: string; readonly unless: string };

export interface ChMigration {
  readonly id: number;
  readonly name: string;
  /** Statements for one shard's server. */
  statements(l: ChLayout): ChStatement[];
}

const UTC_SECONDS = "toDateTime(intDiv(recorded_at, 1000), 'UTC')";
const DAY = 'recorded_at - recorded_at % 86400000';
const BUCKETS = {
  hour: 'recorded_at - recorded_at % 3600000',
  day: DAY,
  // Weeks start on Monday: the epoch was a Thursday.
  week: `(${DAY}) - ((intDiv(recorded_at, 86400000) + 3) % 7) * 86400000`,
  month: `toInt64(toUInt32(toDateTime(toStartOfMonth(${UTC_SECONDS}), 'UTC'))) * 1000`,
};

/** One view for the four periods (arrayJoin): one rollup part per insert, not four. */
const rollupView = (where: string, count = 'count()') => `CREATE MATERIALIZED VIEW IF NOT EXISTS rollups_mv TO rollups_local AS
  SELECT arrayJoin(['hour', 'day', 'week', 'month']) AS period,
    multiIf(${Object.entries(BUCKETS)
      .map(([p, b]) => (p === 'month' ? b : `period = '${p}', ${b}`))
      .join(', ')}) AS bucket_start,
    customer_id, service, ${count} AS event_count, sum(quantity) AS sum_quantity, sum(cost_nanos) AS sum_cost_nanos
  FROM events_local ${where} GROUP BY period, bucket_start, customer_id, service`;

const hasColumn = (table: string, column: string) =>
  `SELECT count() FROM system.columns WHERE database = currentDatabase() AND table = '${table}' AND name = '${column}'`;

const CORRECTION_COLUMNS =
  'ADD COLUMN revision UInt32 DEFAULT 0, ADD COLUMN voided_at Nullable(Int64), ADD COLUMN voided_by Nullable(String), ADD COLUMN void_reason Nullable(String)';

export const CLICKHOUSE_MIGRATIONS: readonly ChMigration[] = [
  {
    id: 1,
    name: 'events and rollups',
    statements: (l) => [
      `CREATE TABLE IF NOT EXISTS events_local (
        id String, recorded_at Int64, customer_id String, user_id Nullable(String), host_id String, service String,
        quantity Decimal(38, 6), unit_price String, cost_nanos Int64, metadata String, source String, received_at Int64)
      ENGINE = ReplacingMergeTree(received_at)
      PARTITION BY toYYYYMM(${UTC_SECONDS})
      ORDER BY (customer_id, recorded_at, id)
      SETTINGS index_granularity = 1024`,
      `CREATE TABLE IF NOT EXISTS rollups_local (
        period String, bucket_start Int64, customer_id String, service String,
        event_count UInt64, sum_quantity Decimal(38, 6), sum_cost_nanos Int64)
      ENGINE = SummingMergeTree((event_count, sum_quantity, sum_cost_nanos))
      PARTITION BY period
      ORDER BY (period, bucket_start, customer_id, service)`,
      rollupView(''),
      ...(l.cluster
        ? [
            `CREATE TABLE IF NOT EXISTS events AS events_local
              ENGINE = Distributed(${l.cluster}, ${l.database}, events_local, cityHash64(customer_id))`,
            `CREATE TABLE IF NOT EXISTS rollups AS rollups_local
              ENGINE = Distributed(${l.cluster}, ${l.database}, rollups_local, cityHash64(customer_id))`,
          ]
        : []),
    ],
  },
  {
    // Voids and amends (corrections.ts): a correction inserts a new revision of the event (the
    // sorting key is the same, so ReplacingMergeTree keeps the latest) and moves the rollups by
    // inserting the difference; the view folds only first revisions. Counts may now go down.
    id: 2,
    name: 'corrections',
    statements: (l) => [
      { sql: `ALTER TABLE events_local ${CORRECTION_COLUMNS}`, unless: hasColumn('events_local', 'revision') },
      ...(l.cluster ? [{ sql: `ALTER TABLE events ${CORRECTION_COLUMNS}`, unless: hasColumn('events', 'revision') }] : []),
      'ALTER TABLE rollups_local MODIFY COLUMN event_count Int64',
      ...(l.cluster ? ['ALTER TABLE rollups MODIFY COLUMN event_count Int64'] : []),
      'DROP TABLE IF EXISTS rollups_mv',
      rollupView('WHERE revision = 0', 'toInt64(count())'),
    ],
  },
];
