-- 0004: sync to billing endpoints. Targets added from the CLI or the UI (file targets live in
-- the config), records an endpoint refused (kept and shown, never deleted), and what the
-- worker knows about the batch at the head of each target's outbox.

CREATE TABLE sync_targets (
  name        TEXT PRIMARY KEY,
  kind        TEXT NOT NULL CHECK (kind IN ('openmeter', 'lago', 'stripe', 'tally')),
  url         TEXT NOT NULL,
  token       TEXT,                            -- secret: never logged, never returned by the API
  options     TEXT NOT NULL DEFAULT '{}',      -- JSON, per kind (event names, batch size, …)
  enabled     INTEGER NOT NULL DEFAULT 1,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
) STRICT;

-- kind 'rejected': the endpoint said the record itself is bad; 'review': it may or may not have
-- been delivered and cannot be re-sent safely (outside the endpoint's dedup window).
CREATE TABLE sync_rejections (
  target  TEXT NOT NULL,
  seq     INTEGER NOT NULL,
  id      TEXT NOT NULL,
  kind    TEXT NOT NULL CHECK (kind IN ('rejected', 'review')),
  reason  TEXT NOT NULL,
  at      INTEGER NOT NULL,
  PRIMARY KEY (target, seq)
) STRICT;

-- attempts: consecutive failures (drives the backoff); stopped: why the target was stopped
-- (401/403), NULL when running; unknown_since/unknown_to_seq: the first send of records up to
-- that seq had no clear answer (timeout, reset, 5xx) at that time.
ALTER TABLE sync_state ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_state ADD COLUMN stopped TEXT;
ALTER TABLE sync_state ADD COLUMN unknown_since INTEGER;
ALTER TABLE sync_state ADD COLUMN unknown_to_seq INTEGER;
