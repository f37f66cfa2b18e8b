// The agent's cron schedules: the same next runs as node-cron (which checks the config) for every
// kind of expression Tally's users write, node-cron's own syntax handed to node-cron, and a task
// that fires on its schedule and stops when destroyed.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createCronTask, nextRuns, parseCron } from '../../src/agent/cron';
import { scheduleIntervalSeconds } from '../../src/agent/schedule';

const nodeCron = createRequire(import.meta.url)('node-cron') as {
  createTask(e: string, fn: () => void): { getNextRuns(n: number): Date[]; destroy(): unknown };
};
const NOW = new Date('2026-03-27T22:47:13.250Z');

afterEach(() => {
  vi.useRealTimers();
});

const EXPRESSIONS = [
  '* * * * *',
  '15 0 * * *',
  '0 * * * *',
  '0 3 1 * *',
  '30 4 * * *',
  '0 2 * * *',
  '*/5 * * * *',
  '*/7 * * * * *',
  '10-20/3 * * * *',
  '0 22-2 * * *',
  '0 0 * * fri-mon',
  '0 9 * * 1-5',
  '0 9 * * 7',
  '0 9 * * Sunday',
  '0 0 1 jan,jul *',
  '0 0 1 JANUARY *',
  '0 12 15 * 3',
  '0 0 29 2 *',
  '5,10,50 8 * * *',
  '0 0 ? * 1',
  '0 0 1 * ?',
  '@daily',
  '@hourly',
  '@weekly',
  '@monthly',
  '@yearly',
  '30 */6 * * *',
  '0 0 31 * *',
];

describe('agent cron schedules', () => {
  it.each(EXPRESSIONS)('%s: the next runs are node-cron’s', (expression) => {
    vi.useFakeTimers({ now: NOW, toFake: ['Date'] });
    expect(parseCron(expression)).not.toBeNull();
    const theirs = nodeCron.createTask(expression, () => undefined);
    const expected = theirs.getNextRuns(6).map((d) => d.toISOString());
    void theirs.destroy();
    expect(nextRuns(expression, 6).map((d) => d.toISOString())).toEqual(expected);
  });

  it('hands node-cron’s own syntax (last day, nearest weekday, nth weekday) to node-cron', () => {
    vi.useFakeTimers({ now: NOW, toFake: ['Date'] });
    for (const expression of ['0 0 L * *', '0 0 15W * *', '0 0 * * 5#2', '0 0 * * 5L']) {
      expect(parseCron(expression)).toBeNull();
      const theirs = nodeCron.createTask(expression, () => undefined);
      const expected = theirs.getNextRuns(3).map((d) => d.toISOString());
      void theirs.destroy();
      expect(nextRuns(expression, 3).map((d) => d.toISOString())).toEqual(expected);
    }
  });

  // node-cron reads the zone once per process: its runs come from a process started in that zone.
  it.each(['Europe/Paris', 'America/New_York', 'Australia/Lord_Howe'])(
    'in %s, across daylight saving changes: node-cron’s runs',
    (zone) => {
      const cases = [
        ['2026-03-28T20:00:00Z', '30 2 * * *'],
        ['2026-03-28T20:00:00Z', '0 * * * *'],
        ['2026-03-08T04:00:00Z', '30 * * * *'],
        ['2026-04-04T12:00:00Z', '15 1-3 * * *'],
        ['2026-10-03T12:00:00Z', '0 0 * * *'],
      ] as const;
      const script = `
      const cron = require('node-cron');
      const cases = ${JSON.stringify(cases)};
      const out = cases.map(([from, e]) => {
        const t = cron.createTask(e, () => undefined);
        const real = Date;
        const fixed = new real(from).getTime();
        globalThis.Date = class extends real { constructor(...a) { super(...(a.length ? a : [fixed])); } static now() { return fixed; } };
        try { return t.getNextRuns(8).map((d) => d.toISOString()); } finally { globalThis.Date = real; t.destroy(); }
      });
      process.stdout.write(JSON.stringify(out));`;
      const expected = JSON.parse(
        execFileSync(process.execPath, ['-e', script], { env: { ...process.env, TZ: zone }, cwd: process.cwd(), encoding: 'utf8' }),
      ) as string[][];
      const tz = process.env.TZ;
      process.env.TZ = zone;
      try {
        cases.forEach(([from, expression], i) => {
          const ours = nextRuns(expression, 8, new Date(from)).map((d) => d.toISOString());
          expect([zone, from, expression, ours]).toEqual([zone, from, expression, expected[i]]);
        });
      } finally {
        if (tz === undefined) delete process.env.TZ;
        else process.env.TZ = tz;
      }
    },
  );

  it('when the clock goes back, a schedule for every hour runs through the repeated hour, one at fixed hours once', () => {
    const tz = process.env.TZ;
    process.env.TZ = 'Europe/Paris';
    try {
      // 02:00-02:59 happens twice on 25 October 2026: at 00:00-00:59 and at 01:00-01:59 UTC.
      expect(nextRuns('0 * * * *', 4, new Date('2026-10-24T23:30:00Z')).map((d) => d.toISOString())).toEqual([
        '2026-10-25T00:00:00.000Z',
        '2026-10-25T01:00:00.000Z',
        '2026-10-25T02:00:00.000Z',
        '2026-10-25T03:00:00.000Z',
      ]);
      const minutes = nextRuns('* * * * *', 120, new Date('2026-10-24T23:59:30Z'));
      expect(minutes.at(-1)?.toISOString()).toBe('2026-10-25T01:59:00.000Z');
      // At fixed hours it runs once, at the first 02:30.
      expect(nextRuns('30 2 * * *', 2, new Date('2026-10-24T20:00:00Z')).map((d) => d.toISOString())).toEqual([
        '2026-10-25T00:30:00.000Z',
        '2026-10-26T01:30:00.000Z',
      ]);
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });

  it('storage reads the longest interval of a schedule', () => {
    vi.useFakeTimers({ now: NOW, toFake: ['Date'] });
    expect(scheduleIntervalSeconds('* * * * *')).toBe(60);
    expect(scheduleIntervalSeconds('0 */6 * * *')).toBe(6 * 3600);
    expect(scheduleIntervalSeconds('0 9 * * 1-5')).toBe(3 * 86_400);
  });

  it('runs on each matching second until destroyed, never twice for one', async () => {
    vi.useFakeTimers({ now: NOW });
    const runs: number[] = [];
    const task = createCronTask('*/10 * * * * *', () => void runs.push(Date.now()));
    await task.start();
    await vi.advanceTimersByTimeAsync(35_000);
    expect(runs.map((t) => new Date(t).toISOString())).toEqual([
      '2026-03-27T22:47:20.000Z',
      '2026-03-27T22:47:30.000Z',
      '2026-03-27T22:47:40.000Z',
    ]);
    await task.destroy();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(runs).toHaveLength(3);
  });

  it('with noOverlap, skips a run while the previous one has not finished', async () => {
    vi.useFakeTimers({ now: NOW });
    let started = 0;
    let finish = () => undefined as void;
    const task = createCronTask(
      '* * * * * *',
      () => {
        started++;
        return new Promise<void>((r) => (finish = r));
      },
      { noOverlap: true },
    );
    await task.start();
    await vi.advanceTimersByTimeAsync(3_000);
    expect(started).toBe(1);
    finish();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(started).toBe(2);
    await task.destroy();
  });
});
