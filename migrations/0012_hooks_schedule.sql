-- 0012: alert hooks and the maintenance schedule. Every delivery attempt of an alert to a hook
-- (a signed webhook or a command) is logged, so Settings can show what happened and a restarted
-- agent knows which alerts still wait; every scheduled job run is logged with its result.

CREATE TABLE hook_deliveries (
  id          INTEGER PRIMARY KEY,
  alert_id    INTEGER NOT NULL,
  hook        TEXT NOT NULL,                -- the hook's name in the config
  attempt     INTEGER NOT NULL,             -- 1, 2, …
  outcome     TEXT NOT NULL CHECK (outcome IN ('delivered', 'failed', 'gave_up')),
  status      INTEGER,                      -- HTTP status or exit code, when there was one
  error       TEXT,
  at          INTEGER NOT NULL              -- ms
) STRICT;
CREATE INDEX hook_deliveries_by_alert ON hook_deliveries (alert_id, hook);
CREATE INDEX hook_deliveries_by_time ON hook_deliveries (at);

CREATE TABLE schedule_runs (
  id           INTEGER PRIMARY KEY,
  job          TEXT NOT NULL,               -- export | alerts | archive | optimize | backup
  started_at   INTEGER NOT NULL,
  finished_at  INTEGER NOT NULL,
  ok           INTEGER NOT NULL CHECK (ok IN (0, 1)),
  result       TEXT NOT NULL                -- one line: what was done, or the error
) STRICT;
CREATE INDEX schedule_runs_by_job ON schedule_runs (job, started_at);
