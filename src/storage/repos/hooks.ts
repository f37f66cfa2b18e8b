// SQL for the alert-hook delivery log and the schedule run log (migration 0012), on the agent's
// own connection: both are written by the agent only.
import type BetterSqlite3 from 'better-sqlite3';

export type DeliveryOutcome = 'delivered' | 'failed' | 'gave_up';

export interface DeliveryAttempt {
  readonly alertId: number;
  readonly hook: string;
  readonly attempt: number;
  readonly outcome: DeliveryOutcome;
  /** HTTP status or exit code, when there was one. */
  readonly status: number | null;
  readonly error: string | null;
  readonly at: string;
}

interface DeliveryRow {
  alert_id: number;
  hook: string;
  attempt: number;
  outcome: DeliveryOutcome;
  status: number | null;
  error: string | null;
  at: number;
}

function rowToAttempt(r: DeliveryRow): DeliveryAttempt {
  return {
    alertId: r.alert_id,
    hook: r.hook,
    attempt: r.attempt,
    outcome: r.outcome,
    status: r.status,
    error: r.error,
    at: new Date(r.at).toISOString(),
  };
}

export class HookDeliveryRepo {
  constructor(private readonly sqlite: BetterSqlite3.Database) {}

  log(a: Omit<DeliveryAttempt, 'at'>, at: number): void {
    this.sqlite
      .prepare('INSERT INTO hook_deliveries (alert_id, hook, attempt, outcome, status, error, at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(a.alertId, a.hook, a.attempt, a.outcome, a.status, a.error, at);
  }

  /** Whether the alert is settled for the hook (delivered, or given up on). */
  settled(alertId: number, hook: string): boolean {
    return (
      this.sqlite
        .prepare("SELECT 1 FROM hook_deliveries WHERE alert_id = ? AND hook = ? AND outcome IN ('delivered', 'gave_up') LIMIT 1")
        .get(alertId, hook) !== undefined
    );
  }

  attempts(alertId: number, hook: string): number {
    const r = this.sqlite.prepare('SELECT count(*) AS n FROM hook_deliveries WHERE alert_id = ? AND hook = ?').get(alertId, hook) as {
      n: number;
    };
    return r.n;
  }

  /** Alert ids logged since `since` that a hook has not settled yet (a restart resumes them). */
  unsettled(hook: string, since: number): number[] {
    const rows = this.sqlite
      .prepare(
        `SELECT a.id FROM alert_log a WHERE a.created_at >= ? AND NOT EXISTS (
           SELECT 1 FROM hook_deliveries d WHERE d.alert_id = a.id AND d.hook = ? AND d.outcome IN ('delivered', 'gave_up'))
         ORDER BY a.id`,
      )
      .all(since, hook) as Array<{ id: number }>;
    return rows.map((r) => r.id);
  }

  /** The newest attempts first. */
  recent(limit = 100): DeliveryAttempt[] {
    const rows = this.sqlite
      .prepare('SELECT alert_id, hook, attempt, outcome, status, error, at FROM hook_deliveries ORDER BY id DESC LIMIT ?')
      .all(limit) as DeliveryRow[];
    return rows.map(rowToAttempt);
  }
}

export interface ScheduleRun {
  readonly job: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly ok: boolean;
  readonly result: string;
}

export class ScheduleRunRepo {
  constructor(private readonly sqlite: BetterSqlite3.Database) {}

  log(job: string, startedAt: number, finishedAt: number, ok: boolean, result: string): void {
    this.sqlite
      .prepare('INSERT INTO schedule_runs (job, started_at, finished_at, ok, result) VALUES (?, ?, ?, ?, ?)')
      .run(job, startedAt, finishedAt, ok ? 1 : 0, result.slice(0, 2000));
  }

  /** The last run of each job. */
  last(): Map<string, ScheduleRun> {
    const rows = this.sqlite
      .prepare(
        `SELECT job, started_at, finished_at, ok, result FROM schedule_runs r
         WHERE id = (SELECT max(id) FROM schedule_runs WHERE job = r.job)`,
      )
      .all() as Array<{ job: string; started_at: number; finished_at: number; ok: number; result: string }>;
    return new Map(
      rows.map((r) => [
        r.job,
        {
          job: r.job,
          startedAt: new Date(r.started_at).toISOString(),
          finishedAt: new Date(r.finished_at).toISOString(),
          ok: r.ok === 1,
          result: r.result,
        },
      ]),
    );
  }
}
