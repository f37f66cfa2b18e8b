-- 0011: tenants. Customers are first-class (a display name, free metadata); one appears by
-- itself on its first event, through the hour rollup that event creates (a trigger on a row
-- made once per customer x service x hour, not per record). Scoped API keys are stored as a
-- SHA-256 of the key, never the key itself; a revoked key stays, marked, so it answers 401.

CREATE TABLE customers (
  id            TEXT PRIMARY KEY,
  display_name  TEXT,
  metadata      TEXT NOT NULL DEFAULT '{}',
  created_at    INTEGER NOT NULL              -- ms; for automatic ones, the hour of the first event
) STRICT;

INSERT INTO customers (id, created_at)
  SELECT customer_id, MIN(bucket_start) FROM rollups WHERE period = 'hour' GROUP BY customer_id;

CREATE TRIGGER customers_on_first_event AFTER INSERT ON rollups WHEN NEW.period = 'hour'
BEGIN
  INSERT OR IGNORE INTO customers (id, created_at) VALUES (NEW.customer_id, NEW.bucket_start);
END;

CREATE TABLE api_keys (
  id              TEXT PRIMARY KEY,           -- shown and used to revoke: key_…
  key_hash        TEXT NOT NULL UNIQUE,       -- hex SHA-256 of the key (the key is 256 random bits)
  customer_id     TEXT NOT NULL,
  scope           TEXT NOT NULL CHECK (scope IN ('ingest', 'read')),
  name            TEXT,
  rate_per_minute INTEGER,                    -- NULL: the agent's http.rateLimitPerMinute
  created_at      INTEGER NOT NULL,
  revoked_at      INTEGER
) STRICT;
CREATE INDEX api_keys_customer ON api_keys (customer_id);
