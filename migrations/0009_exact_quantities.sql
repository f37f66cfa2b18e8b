-- 0009: exact integer quantities. A REAL quantity loses whole units past 2^53 (a month of one
-- storage volume is ~1.8e17 byte-seconds) and fractions of CPU-seconds drift in sums.
--   usage_records.quantity: INTEGER units = base units for whole-number services, millionths
--     of the base unit for fractional ones (integer_only = 0: compute's CPU-seconds become CPU
--     microseconds). One record fits in 64 bits.
--   rollups: the sum is two limbs, sum_quantity_hi × 2^32 + sum_quantity_lo (0 ≤ lo < 2^32):
--     a 10 PB volume held for a month is 2.7e22 byte-seconds, past 2^63, and each limb sums in
--     SQLite without overflow. min/max are INTEGER units.
-- Rollups are recomputed from the raw records wherever every record of the bucket is still
-- there (live records: voided ones are not counted, see 0007); buckets of archived records
-- keep their (rounded) REAL figures converted to units.

-- Raw records: add the integer column, fill it, replace the REAL one (other columns untouched).
ALTER TABLE usage_records ADD COLUMN quantity_units INTEGER NOT NULL DEFAULT 0;
UPDATE usage_records SET quantity_units = CAST(round(quantity * coalesce(
    (SELECT CASE WHEN integer_only = 0 THEN 1000000 ELSE 1 END FROM services s WHERE s.name = usage_records.service), 1)) AS INTEGER);
ALTER TABLE usage_records DROP COLUMN quantity;
ALTER TABLE usage_records RENAME COLUMN quantity_units TO quantity;

-- Exact hourly sums of the raw records; coarser periods fold from them.
CREATE TEMP TABLE raw_hour AS
  SELECT recorded_at - recorded_at % 3600000 AS bucket_start, customer_id, service, count(*) AS n,
         sum(quantity >> 32) AS hi, sum(quantity & 4294967295) AS lo, min(quantity) AS mn, max(quantity) AS mx
  FROM usage_records WHERE voided_at IS NULL GROUP BY 1, 2, 3;

CREATE TEMP TABLE raw_sums AS
  SELECT 'hour' AS period, bucket_start, customer_id, service, n, hi, lo, mn, mx FROM raw_hour
  UNION ALL
  SELECT 'day', bucket_start - bucket_start % 86400000, customer_id, service, sum(n), sum(hi), sum(lo), min(mn), max(mx)
    FROM raw_hour GROUP BY 2, 3, 4
  UNION ALL
  -- ISO weeks start on Monday; 1970-01-01 was a Thursday.
  SELECT 'week', (bucket_start - bucket_start % 86400000) - ((bucket_start / 86400000 + 3) % 7) * 86400000,
         customer_id, service, sum(n), sum(hi), sum(lo), min(mn), max(mx)
    FROM raw_hour GROUP BY 2, 3, 4
  UNION ALL
  SELECT 'month', CAST(strftime('%s', bucket_start / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000,
         customer_id, service, sum(n), sum(hi), sum(lo), min(mn), max(mx)
    FROM raw_hour GROUP BY 2, 3, 4;

DROP INDEX rollups_service_sums;
CREATE TABLE rollups_exact (
  period          TEXT NOT NULL CHECK (period IN ('hour', 'day', 'week', 'month')),
  bucket_start    INTEGER NOT NULL,
  customer_id     TEXT NOT NULL,
  service         TEXT NOT NULL,
  event_count     INTEGER NOT NULL,
  sum_quantity_hi INTEGER NOT NULL,            -- the sum of quantities is hi × 2^32 + lo
  sum_quantity_lo INTEGER NOT NULL CHECK (sum_quantity_lo >= 0 AND sum_quantity_lo < 4294967296),
  sum_cost_nanos  INTEGER NOT NULL,
  min_quantity    INTEGER NOT NULL,
  max_quantity    INTEGER NOT NULL,
  PRIMARY KEY (period, bucket_start, customer_id, service)
) STRICT, WITHOUT ROWID;

INSERT INTO rollups_exact
  SELECT period, bucket_start, customer_id, service, event_count,
    CASE WHEN n IS event_count THEN hi + (lo >> 32) ELSE units >> 32 END,
    CASE WHEN n IS event_count THEN lo & 4294967295 ELSE units & 4294967295 END,
    sum_cost_nanos,
    CASE WHEN n IS event_count THEN mn ELSE CAST(round(min_quantity * scale) AS INTEGER) END,
    CASE WHEN n IS event_count THEN mx ELSE CAST(round(max_quantity * scale) AS INTEGER) END
  FROM (SELECT r.*, x.n, x.hi, x.lo, x.mn, x.mx, CAST(round(r.sum_quantity * r.scale) AS INTEGER) AS units
        FROM (SELECT *, coalesce((SELECT CASE WHEN integer_only = 0 THEN 1000000 ELSE 1 END FROM services s
                                  WHERE s.name = rollups.service), 1) AS scale FROM rollups) r
        LEFT JOIN raw_sums x USING (period, bucket_start, customer_id, service));

DROP TABLE rollups;
ALTER TABLE rollups_exact RENAME TO rollups;
CREATE INDEX rollups_service_sums ON rollups (period, service, bucket_start, event_count, sum_quantity_hi, sum_quantity_lo, sum_cost_nanos);
DROP TABLE raw_sums;
DROP TABLE raw_hour;

-- Quota limits and logged alert figures stay REAL base quantities: they are thresholds and
-- messages, compared with a ratio, never summed.
