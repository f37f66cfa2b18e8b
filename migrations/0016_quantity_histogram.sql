-- 0016: exact percentiles without scanning raw records. Per UTC day × customer × service, how
-- many live records carried each quantity. p95/p99 over whole days walk these counts from the
-- top (nearest rank), reading one row per distinct quantity and day instead of every record:
-- a month of request counts is a few dozen rows. Kept in the writer's transaction like the
-- rollups, adjusted by voids and amends, kept when records are archived.
CREATE TABLE quantity_histogram (
  service      TEXT NOT NULL,
  day          INTEGER NOT NULL,               -- first ms of the UTC day
  customer_id  TEXT NOT NULL,
  quantity     INTEGER NOT NULL,               -- units, as usage_records.quantity
  n            INTEGER NOT NULL,
  PRIMARY KEY (service, day, customer_id, quantity)
) STRICT, WITHOUT ROWID;

INSERT INTO quantity_histogram (service, day, customer_id, quantity, n)
  SELECT service, recorded_at - recorded_at % 86400000, customer_id, quantity, count(*)
  FROM usage_records WHERE voided_at IS NULL
  GROUP BY 1, 2, 3, 4;
