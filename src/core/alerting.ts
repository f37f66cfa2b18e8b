// The pure rules of quota alerting: the level a usage reaches, the run rate to the period's end,
// and which alerts a check must log given what is already logged for the period. No database:
// src/quotas/alerts.ts reads usage and the log, asks these, and writes what they decide.

export type AlertLevel = 'warning' | 'critical' | 'exceeded' | 'forecast';

export interface Thresholds {
  /** Percent of the quota. */
  readonly warning: number;
  readonly critical: number;
  readonly exceeded: number;
}

const RANK: Record<AlertLevel, number> = { forecast: 0, warning: 1, critical: 2, exceeded: 3 };

export function levelFor(percent: number, t: Thresholds): Exclude<AlertLevel, 'forecast'> | null {
  if (percent >= t.exceeded) return 'exceeded';
  if (percent >= t.critical) return 'critical';
  if (percent >= t.warning) return 'warning';
  return null;
}

/** `value` so far, carried at the same rate to the end of [start, end): the one run-rate projection. */
export function projectToEnd(value: number, start: number, end: number, now: number): number {
  const elapsed = now - start;
  return elapsed > 0 ? (value * (end - start)) / elapsed : value;
}

export interface AlertSituation {
  readonly percent: number;
  readonly usage: number;
  readonly projected: number;
  readonly projectedPercent: number;
  /** Milliseconds of the period behind us, and how many a forecast needs (a run rate from minutes is noise). */
  readonly elapsedMs: number;
  readonly forecastMinElapsedMs: number;
  readonly forecast: boolean;
  /** Levels already logged for this quota and period. */
  readonly logged: readonly AlertLevel[];
}

/** What to log now: each level once per period, only rising; one forecast when the run rate crosses the exceeded line. */
export function alertsToLog(s: AlertSituation, t: Thresholds): Array<{ level: AlertLevel; percent: number; quantity: number }> {
  const level = levelFor(s.percent, t);
  const highest = Math.max(-1, ...s.logged.map((l) => RANK[l]));
  const out: Array<{ level: AlertLevel; percent: number; quantity: number }> = [];
  if (level && RANK[level] > highest) out.push({ level, percent: s.percent, quantity: s.usage });
  if (
    s.forecast &&
    level !== 'exceeded' &&
    s.elapsedMs >= s.forecastMinElapsedMs &&
    s.projectedPercent >= t.exceeded &&
    !s.logged.includes('forecast')
  ) {
    out.push({ level: 'forecast', percent: s.projectedPercent, quantity: s.projected });
  }
  return out;
}
