-- 0007: corrections and closed months. A void keeps the record, marked with when, who and why;
-- an amend is a void plus a new record whose `amends` names the original. Every reader counts
-- live records only (voided_at IS NULL); rollups are adjusted in the correction's transaction.
ALTER TABLE usage_records ADD COLUMN voided_at INTEGER;
ALTER TABLE usage_records ADD COLUMN voided_by TEXT;
ALTER TABLE usage_records ADD COLUMN void_reason TEXT;
ALTER TABLE usage_records ADD COLUMN amends TEXT;

-- The corrections outbox: one row per void or amend, in order. Sync targets learn of them by
-- seq after the record itself was delivered (see sync_corrections). The original's figures
-- are kept so a manual adjustment at a vendor can be described without the record.
CREATE TABLE corrections (
  seq             INTEGER PRIMARY KEY,
  kind            TEXT NOT NULL CHECK (kind IN ('void', 'amend')),
  record_id       TEXT NOT NULL,
  record_seq      INTEGER NOT NULL,
  new_id          TEXT,
  new_seq         INTEGER,
  customer_id     TEXT NOT NULL,
  service         TEXT NOT NULL,
  recorded_at     INTEGER NOT NULL,
  quantity        REAL NOT NULL,
  cost_nanos      INTEGER NOT NULL,
  delta_cost_nanos INTEGER NOT NULL,           -- change of the month's total cost, re-pricing included
  reason          TEXT NOT NULL,
  actor           TEXT NOT NULL,               -- admin token, key id, cli user
  at              INTEGER NOT NULL
) STRICT;
CREATE INDEX corrections_record ON corrections (record_id);

-- What each sync target made of each correction: delivered (applied at the target), manual (the
-- target cannot retract: a person adjusts at the vendor), done (a person marked it adjusted).
CREATE TABLE sync_corrections (
  target          TEXT NOT NULL,
  correction_seq  INTEGER NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('delivered', 'manual', 'done')),
  note            TEXT NOT NULL DEFAULT '',
  at              INTEGER NOT NULL,
  PRIMARY KEY (target, correction_seq)
) STRICT, WITHOUT ROWID;

-- A closed month: the statement exactly as printed (body), its hash, and the exact per customer
-- × service figures it billed (basis, JSON), so later changes become adjustment lines.
-- max_seq / max_correction_seq: what the database held when the month closed ("late" is after).
CREATE TABLE closed_statements (
  month               TEXT PRIMARY KEY,        -- YYYY-MM
  month_start         INTEGER NOT NULL,
  body                TEXT NOT NULL,
  sha256              TEXT NOT NULL,
  basis               TEXT NOT NULL,
  max_seq             INTEGER NOT NULL,
  max_correction_seq  INTEGER NOT NULL,
  closed_at           INTEGER NOT NULL,
  closed_by           TEXT NOT NULL            -- 'grace' or who closed it by hand
) STRICT;
