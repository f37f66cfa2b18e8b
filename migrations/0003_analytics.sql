-- 0003: exports and the archive read raw records by time alone (all services, newest first).
CREATE INDEX usage_records_time ON usage_records (recorded_at);

-- One row per archive file whose records were deleted from usage_records (rollups were kept).
-- Reads use it to say when a range reaches into data only the rollups still hold.
CREATE TABLE archive_log (
  id              INTEGER PRIMARY KEY,
  file            TEXT NOT NULL,
  sha256          TEXT NOT NULL,
  record_count    INTEGER NOT NULL,
  min_recorded_at INTEGER,
  max_recorded_at INTEGER,
  cutoff          INTEGER NOT NULL,                -- records recorded before this were eligible
  created_at      INTEGER NOT NULL,
  restored_at     INTEGER
) STRICT;
