-- 0015: the ids of archived records, so a correction of one is refused with a clear message
-- (restore the archive first) instead of "no such event". Written in the archive's delete
-- transaction, removed when the archive is restored. `archive` is the archive's sha256.
CREATE TABLE archived_ids (
  id       TEXT PRIMARY KEY,
  archive  TEXT NOT NULL
) STRICT, WITHOUT ROWID;
