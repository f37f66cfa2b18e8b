// The pure alerting rules, without a database: levels, the run rate, and what a check logs.
import { describe, expect, it } from 'vitest';
import { alertsToLog, levelFor, projectToEnd, type AlertSituation } from '../../src/core/alerting';

const T = { warning: 75, critical: 90, exceeded: 100 };
const HOUR = 3_600_000;
const situation = (o: Partial<AlertSituation>): AlertSituation => ({
  percent: 0,
  usage: 0,
  projected: 0,
  projectedPercent: 0,
  elapsedMs: 12 * HOUR,
  forecastMinElapsedMs: 3 * HOUR,
  forecast: true,
  logged: [],
  ...o,
});

describe('alerting rules', () => {
  it('levels at the thresholds, inclusive', () => {
    expect([74.9, 75, 89.99, 90, 100, 250].map((p) => levelFor(p, T))).toEqual([
      null,
      'warning',
      'warning',
      'critical',
      'exceeded',
      'exceeded',
    ]);
  });

  it('the run rate carries usage to the end of the period', () => {
    expect(projectToEnd(30, 0, 100, 25)).toBe(120);
    expect(projectToEnd(30, 0, 100, 0)).toBe(30); // nothing elapsed: no rate yet
  });

  it('each level is logged once per period and only rising', () => {
    expect(alertsToLog(situation({ percent: 78, usage: 78 }), T)).toEqual([{ level: 'warning', percent: 78, quantity: 78 }]);
    expect(alertsToLog(situation({ percent: 80, logged: ['warning'] }), T)).toEqual([]);
    expect(alertsToLog(situation({ percent: 95, usage: 95, logged: ['warning'] }), T)).toEqual([
      { level: 'critical', percent: 95, quantity: 95 },
    ]);
    // Usage that jumps past two lines logs the highest only.
    expect(alertsToLog(situation({ percent: 120, usage: 120 }), T).map((a) => a.level)).toEqual(['exceeded']);
    expect(alertsToLog(situation({ percent: 80, logged: ['exceeded'] }), T)).toEqual([]);
  });

  it('a forecast once, when the run rate crosses the exceeded line with enough of the period behind', () => {
    const crossing = situation({ percent: 50, usage: 50, projected: 130, projectedPercent: 130 });
    expect(alertsToLog(crossing, T)).toEqual([{ level: 'forecast', percent: 130, quantity: 130 }]);
    expect(alertsToLog({ ...crossing, logged: ['forecast'] }, T)).toEqual([]);
    expect(alertsToLog({ ...crossing, elapsedMs: HOUR }, T)).toEqual([]); // a rate from one hour is noise
    expect(alertsToLog({ ...crossing, forecast: false }, T)).toEqual([]);
    expect(alertsToLog(situation({ percent: 101, usage: 101, projectedPercent: 300 }), T).map((a) => a.level)).toEqual(['exceeded']);
  });
});
