-- 0014: exact unique counts. A unique_count service (monthly active users by user_id) keeps each
-- distinct value once per period × customer × service; the period's count is the number of rows.
-- Written in the writer's transaction with the records. About 60 bytes a row: 100 000 users
-- active every day of a month are 100 000 month rows + 100 000 per week + 100 000 per day.
CREATE TABLE unique_values (
  period        TEXT NOT NULL CHECK (period IN ('day', 'week', 'month')),
  bucket_start  INTEGER NOT NULL,
  customer_id   TEXT NOT NULL,
  service       TEXT NOT NULL,
  value         TEXT NOT NULL,
  PRIMARY KEY (period, bucket_start, customer_id, service, value)
) STRICT, WITHOUT ROWID;
