-- 0001: the first schema. Frozen once shipped: change the schema in a new numbered file.
-- Times are integer milliseconds since the Unix epoch, UTC. Money is integer nano-units
-- (1e-9 of the currency), so SUM() is exact; prices are decimal text as the user wrote them.

CREATE TABLE services (
  name            TEXT PRIMARY KEY,
  display_name    TEXT NOT NULL,
  base_unit       TEXT NOT NULL,               -- what quantity counts: 'requests', 'byte-seconds'
  display_unit    TEXT NOT NULL,               -- what people read: 'GB-hours' (GB = GiB)
  display_factor  REAL NOT NULL CHECK (display_factor > 0), -- base units per display unit
  integer_only    INTEGER NOT NULL DEFAULT 1,  -- 1: quantity must be a whole number
  required_fields TEXT NOT NULL DEFAULT '[]',  -- JSON array of metadata keys a record must carry
  breakdown_keys  TEXT NOT NULL DEFAULT '[]',  -- JSON array of metadata keys reports group by
  builtin         INTEGER NOT NULL DEFAULT 0,
  created_at      INTEGER NOT NULL
) STRICT;

-- A price rule applies to records recorded at or after effective_from, until the next rule.
-- Records keep the price they were charged, so a new rule never rewrites history.
CREATE TABLE price_rules (
  id              INTEGER PRIMARY KEY,
  service         TEXT NOT NULL REFERENCES services(name) ON DELETE CASCADE,
  effective_from  INTEGER NOT NULL,
  model           TEXT NOT NULL CHECK (model IN ('per_unit', 'tiered', 'package')),
  spec            TEXT NOT NULL,               -- JSON, shape depends on model (see src/core/pricing.ts)
  minimum_charge  TEXT,                        -- decimal per month, applied on the statement
  created_at      INTEGER NOT NULL,
  UNIQUE (service, effective_from)
) STRICT;

CREATE TABLE usage_records (
  seq          INTEGER PRIMARY KEY,            -- local monotonic sequence: the sync cursor
  id           TEXT NOT NULL UNIQUE,           -- ULID: sortable, unique across machines, the idempotency key
  recorded_at  INTEGER NOT NULL,
  customer_id  TEXT NOT NULL,
  user_id      TEXT,
  host_id      TEXT NOT NULL,
  service      TEXT NOT NULL,
  quantity     REAL NOT NULL,                  -- in the service's base unit
  unit_price   TEXT NOT NULL,                  -- decimal price per display unit in force when recorded
  cost_nanos   INTEGER NOT NULL,
  metadata     TEXT NOT NULL DEFAULT '{}',
  source       TEXT NOT NULL
) STRICT;
-- Raw-record reads are per service over a time range (stats, percentiles, breakdowns).
CREATE INDEX usage_records_service_time ON usage_records (service, recorded_at);

-- Rollups per customer x service, kept in the same transaction as the raw insert.
-- period: 'hour' | 'day' | 'week' (ISO, Monday) | 'month'; bucket_start is its first ms, UTC.
CREATE TABLE rollups (
  period        TEXT NOT NULL CHECK (period IN ('hour', 'day', 'week', 'month')),
  bucket_start  INTEGER NOT NULL,
  customer_id   TEXT NOT NULL,
  service       TEXT NOT NULL,
  event_count   INTEGER NOT NULL,
  sum_quantity  REAL NOT NULL,
  sum_cost_nanos INTEGER NOT NULL,
  min_quantity  REAL NOT NULL,
  max_quantity  REAL NOT NULL,
  PRIMARY KEY (period, bucket_start, customer_id, service)
) STRICT, WITHOUT ROWID;
CREATE INDEX rollups_service ON rollups (period, service, bucket_start);

CREATE TABLE quotas (
  id           INTEGER PRIMARY KEY,
  customer_id  TEXT NOT NULL,
  service      TEXT NOT NULL,
  period       TEXT NOT NULL CHECK (period IN ('day', 'month')),
  limit_quantity REAL NOT NULL CHECK (limit_quantity >= 0), -- in base units
  created_at   INTEGER NOT NULL,
  UNIQUE (customer_id, service, period)
) STRICT;

-- One row per level per quota per period: checking again never repeats an alert.
CREATE TABLE alert_log (
  id           INTEGER PRIMARY KEY,
  customer_id  TEXT NOT NULL,
  service      TEXT NOT NULL,
  period       TEXT NOT NULL,
  period_start INTEGER NOT NULL,
  level        TEXT NOT NULL CHECK (level IN ('warning', 'critical', 'exceeded', 'forecast')),
  percent      REAL NOT NULL,
  usage_quantity REAL NOT NULL,
  limit_quantity REAL NOT NULL,
  message      TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  UNIQUE (customer_id, service, period, period_start, level)
) STRICT;
CREATE INDEX alert_log_time ON alert_log (created_at);

CREATE TABLE sync_state (
  target        TEXT PRIMARY KEY,
  acked_seq     INTEGER NOT NULL DEFAULT 0,    -- every record with seq <= acked_seq is delivered
  last_success  INTEGER,
  last_error    TEXT,
  next_attempt  INTEGER,
  updated_at    INTEGER NOT NULL
) STRICT;

-- Last readings of counters (bandwidth, cpu) and the boot they were read in.
CREATE TABLE collector_state (
  collector   TEXT NOT NULL,
  key         TEXT NOT NULL,
  value       TEXT NOT NULL,                   -- JSON
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (collector, key)
) STRICT, WITHOUT ROWID;

CREATE TABLE settings (
  key    TEXT PRIMARY KEY,
  value  TEXT NOT NULL                         -- JSON
) STRICT, WITHOUT ROWID;
