-- 0018: the quantity histogram of 0016, packed. A day of a service whose quantities are all
-- different (storage samples, durations) had one row per record, so a year's p95 read as many
-- rows as the raw scan. Here each UTC day × customer × service is one row whose blobs list its
-- distinct quantities in ascending order with their counts: a year is 365 rows per customer.
-- quantity_histogram stays as the writer's delta table: the flush adds its counts there (cheap,
-- as before), corrections add −1/+1 there (a −1 may cancel a packed count, so n may be negative),
-- and the daily maintenance folds the deltas into the packed rows. Live counts = packed + deltas.
CREATE TABLE quantity_histogram_packed (
  service      TEXT NOT NULL,
  day          INTEGER NOT NULL,               -- first ms of the UTC day
  customer_id  TEXT NOT NULL,
  n            INTEGER NOT NULL,               -- records counted: the sum of the counts
  quantities   BLOB NOT NULL,                  -- distinct quantities (units), ascending, 8-byte big-endian two's complement each
  counts       BLOB,                           -- the count of each, 8-byte big-endian; NULL when every count is 1
  PRIMARY KEY (service, day, customer_id)
) STRICT, WITHOUT ROWID;

INSERT INTO quantity_histogram_packed (service, day, customer_id, n, quantities, counts)
  SELECT service, day, customer_id, sum(n),
         unhex(group_concat(printf('%016x', quantity), '' ORDER BY quantity)),
         CASE WHEN min(n) = 1 AND max(n) = 1 THEN NULL ELSE unhex(group_concat(printf('%016x', n), '' ORDER BY quantity)) END
  FROM quantity_histogram WHERE n <> 0
  GROUP BY service, day, customer_id;

DELETE FROM quantity_histogram;
