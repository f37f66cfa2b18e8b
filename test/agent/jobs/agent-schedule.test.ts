// The maintenance schedule inside a real `tally agent` process: with the export job on (a cron
// with seconds, so the test does not wait a minute), the previous day's CSV appears in the folder
// with that day's records, and the run is listed with its result through the API.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { readAgentInfo, readToken } from '../../../src/client/discovery';
import { toNanos } from '../../../src/core/money';
import { tally } from '../../helpers/cli';
import { tempDir } from '../../helpers/db';

const dir = tempDir('tally-agent-schedule-');
const db = path.join(dir, 'tally.db');
const reports = path.join(dir, 'reports');
const config = path.join(dir, 'config.json');
const env = { TALLY_DB: db, TALLY_CONFIG: config, TALLY_NOW: '2026-11-20T09:30:00Z', HOME: dir, TALLY_HOME: dir };
let stop: () => Promise<void> = async () => undefined;

afterAll(() => stop());

describe('scheduled export in the agent', () => {
  it('writes the previous day to the folder on its cron, with the right content', async () => {
    fs.mkdirSync(reports);
    fs.writeFileSync(
      config,
      JSON.stringify({
        collectors: { storage: { enabled: false }, bandwidth: { enabled: false }, compute: { enabled: false } },
        schedule: { export: { enabled: true, cron: '*/2 * * * * *', format: 'csv', period: 'previous-day', folder: reports } },
      }),
    );
    expect(tally(['demo', '--days', '3'], env).code).toBe(0);
    const day = JSON.parse(tally(['report', '--from', '2026-11-19', '--to', '2026-11-19', '--json'], env).stdout);

    const child = spawn(process.execPath, [path.resolve('bin/tally.mjs'), 'agent', '--port', '0'], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: 'ignore',
    });
    stop = async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    };
    const file = path.join(reports, 'tally-usage-2026-11-19_2026-11-19.csv');
    await expect.poll(() => fs.existsSync(file), { timeout: 30_000, interval: 200 }).toBe(true);
    const rows = parse(fs.readFileSync(file, 'utf8'), { columns: true }) as Array<Record<string, string>>;
    expect(rows).toHaveLength(day.totalEvents);
    expect(rows.reduce((n, r) => n + toNanos(r.total_cost!), 0n)).toBe(toNanos(day.totalCost));

    // Settings sees the run and its result.
    const info = readAgentInfo(dir)!;
    const res = await fetch(`${info.url}/api/call/settings.get`, {
      method: 'POST',
      headers: { authorization: `Bearer ${readToken(dir)}`, 'content-type': 'application/json' },
      body: '{}',
    });
    const body = (await res.json()) as { ok: boolean; data: { lastRuns: Array<{ job: string; ok: boolean; result: string }> } };
    expect(body.data.lastRuns.find((r) => r.job === 'export')).toMatchObject({ ok: true });
    expect(body.data.lastRuns.find((r) => r.job === 'export')!.result).toMatch(/^exported \d+ records/);
  }, 60_000);
});
