-- 0010: the metering model. Price rules take volume, percentage and per-dimension models (the
-- CHECK lists them, so the table is rebuilt with its rows); services name how their usage
-- aggregates; prepaid credit grants and their balance alerts.
CREATE TABLE price_rules_new (
  id              INTEGER PRIMARY KEY,
  service         TEXT NOT NULL REFERENCES services(name) ON DELETE CASCADE,
  effective_from  INTEGER NOT NULL,
  model           TEXT NOT NULL CHECK (model IN ('per_unit', 'tiered', 'volume', 'package', 'percentage', 'dimension')),
  spec            TEXT NOT NULL,               -- JSON, shape depends on model (see src/core/pricing.ts)
  minimum_charge  TEXT,                        -- decimal per month, applied on the statement
  created_at      INTEGER NOT NULL,
  UNIQUE (service, effective_from)
) STRICT;
INSERT INTO price_rules_new (id, service, effective_from, model, spec, minimum_charge, created_at)
  SELECT id, service, effective_from, model, spec, minimum_charge, created_at FROM price_rules;
DROP TABLE price_rules;
ALTER TABLE price_rules_new RENAME TO price_rules;

-- How a period's usage is one number: sum (of quantities), count (of events), max (peak),
-- unique_count (of a metadata field's distinct values), latest (the last reading).
ALTER TABLE services ADD COLUMN aggregation TEXT NOT NULL DEFAULT 'sum'
  CHECK (aggregation IN ('sum', 'count', 'max', 'unique_count', 'latest'));
ALTER TABLE services ADD COLUMN aggregation_field TEXT;      -- unique_count: the metadata key counted
ALTER TABLE services ADD COLUMN value_property TEXT;         -- JSON path of the quantity in an event ($.tokens)
ALTER TABLE services ADD COLUMN group_by TEXT NOT NULL DEFAULT '[]'; -- JSON array of metadata keys

-- Prepaid credits (Stripe's credit grants, Lago's wallets). Statements draw grants down by
-- priority (lower first), then the earliest expiry, then the oldest grant. A void keeps the row.
CREATE TABLE credit_grants (
  id              INTEGER PRIMARY KEY,
  customer_id     TEXT NOT NULL,
  amount_nanos    INTEGER NOT NULL CHECK (amount_nanos > 0),
  priority        INTEGER NOT NULL DEFAULT 50 CHECK (priority BETWEEN 0 AND 100),
  effective_at    INTEGER NOT NULL,            -- applies to months that end after this instant
  expires_at      INTEGER,                     -- applies to months that start before it; NULL = never
  note            TEXT,
  created_at      INTEGER NOT NULL,
  voided_at       INTEGER,
  void_reason     TEXT
) STRICT;
CREATE INDEX credit_grants_customer ON credit_grants (customer_id, effective_at);

-- A balance alert is logged once per customer × threshold × granted total: a new grant re-arms it.
CREATE TABLE balance_alerts (
  id              INTEGER PRIMARY KEY,
  customer_id     TEXT NOT NULL,
  threshold       TEXT NOT NULL,               -- '25%' or a decimal amount such as '0'
  granted_nanos   INTEGER NOT NULL,
  balance_nanos   INTEGER NOT NULL,
  message         TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  UNIQUE (customer_id, threshold, granted_nanos)
) STRICT;
