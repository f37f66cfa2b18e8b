// The maintenance schedule inside the agent: a scheduled export fires on its cron and the file of
// the previous day appears with the seed's columns and that day's records; backup and optimize
// run on demand; every run is logged with its result.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultScheduleConfig } from '../../../src/agent/jobs/config';
import { previousPeriod } from '../../../src/agent/jobs/jobs';
import { startMaintenanceSchedule } from '../../../src/agent/jobs/schedule';
import { defaults } from '../../../src/config/config';
import { toNanos } from '../../../src/core/money';
import { EventBus, type AgentContext } from '../../../src/handlers/context';
import { tempDir, testDb, testWriter } from '../../helpers/db';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

const NOW = Date.UTC(2026, 10, 20, 9, 30);
const YESTERDAY = Date.UTC(2026, 10, 19);

async function setup(schedule: ReturnType<typeof defaultScheduleConfig>) {
  const dir = tempDir('tally-jobs-');
  const tdb = await testDb(path.join(dir, 'tally.db'));
  const writer = await testWriter(tdb, { clock: () => NOW });
  stops.push(async () => {
    await writer.close();
    await tdb.close();
  });
  const ctx: AgentContext = { config: { ...defaults(), db: tdb.path, schedule }, tdb, writer, events: new EventBus(), now: () => NOW };
  // 30 requests yesterday, 5 today (not in yesterday's export).
  const at = (t: number) => ({ service: 'api', quantity: 1, recordedAt: t, metadata: { endpoint: '/users', method: 'GET' } });
  await writer.recordMany([
    ...Array.from({ length: 30 }, (_, i) => at(YESTERDAY + i * 60_000)),
    ...Array.from({ length: 5 }, (_, i) => at(NOW - i * 1000)),
  ]);
  await writer.flush();
  return { ctx, dir };
}

describe('maintenance schedule', () => {
  it('runs the daily export on its cron; the file of the previous day appears with its records', async () => {
    const config = defaultScheduleConfig();
    const { ctx, dir } = await setup(config);
    const folder = path.join(dir, 'reports');
    fs.mkdirSync(folder);
    // Every second (cron with seconds), so the test sees it fire without waiting a minute.
    config.export = { enabled: true, cron: '* * * * * *', format: 'csv', period: 'previous-day', folder };
    const schedule = startMaintenanceSchedule(ctx);
    stops.push(() => schedule.stop());

    const file = path.join(folder, 'tally-usage-2026-11-19_2026-11-19.csv');
    await expect.poll(() => fs.existsSync(file), { timeout: 10_000, interval: 100 }).toBe(true);
    await expect.poll(() => schedule.last().get('export')?.ok, { timeout: 5000 }).toBe(true);
    const text = fs.readFileSync(file, 'utf8');
    expect(text.startsWith('timestamp,service,quantity,unit_cost,total_cost,metadata,')).toBe(true);
    const rows = parse(text, { columns: true }) as Array<Record<string, string>>;
    expect(rows).toHaveLength(30);
    expect(rows.every((r) => r.timestamp!.startsWith('2026-11-19'))).toBe(true);
    expect(rows.reduce((n, r) => n + toNanos(r.total_cost!), 0n)).toBe(toNanos('0.003'));
    expect(schedule.last().get('export')?.result).toMatch(/^exported 30 records/);
  });

  it('backs up (integrity-checked copy) and optimizes on demand, and logs each result', async () => {
    const config = defaultScheduleConfig();
    const { ctx, dir } = await setup(config);
    config.backup = { ...config.backup, folder: path.join(dir, 'backups'), keep: 1 };
    fs.mkdirSync(config.backup.folder!);
    const schedule = startMaintenanceSchedule(ctx);
    stops.push(() => schedule.stop());
    const first = await schedule.runNow('backup');
    expect(first.ok).toBe(true);
    const optimize = await schedule.runNow('optimize');
    expect(optimize).toMatchObject({ job: 'optimize', ok: true });
    expect(optimize.result).toMatch(/^checkpointed/);
    expect(fs.readdirSync(config.backup.folder!).filter((f) => f.endsWith('.db'))).toHaveLength(1);
    expect([...schedule.last().keys()].sort()).toEqual(['backup', 'optimize']);
  });

  it('knows the previous day and month', () => {
    expect(previousPeriod('previous-day', NOW)).toEqual({ from: YESTERDAY, to: Date.UTC(2026, 10, 20) });
    expect(previousPeriod('previous-month', NOW)).toEqual({ from: Date.UTC(2026, 9, 1), to: Date.UTC(2026, 10, 1) });
  });
});
