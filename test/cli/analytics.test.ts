// The analytics commands as a user runs them: a real CLI process on a real database file.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { acquireWriterLock } from '../../src/storage/lock';
import { tempDir } from '../helpers/db';

const ROOT = path.resolve(__dirname, '../..');
const OUT = path.join(ROOT, 'dist', 'test-cli-analytics');
let dir: string;
let db: string;

function tally(args: string[], cwd = dir): { code: number | null; out: string; err: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, TALLY_CONFIG: path.join(dir, 'none.json'), TALLY_CUSTOMER_ID: 'default' };
  delete env.VITEST;
  const r = spawnSync(process.execPath, [path.join(OUT, 'run.mjs'), '--db', db, ...args], { env, cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
  await build({
    entryPoints: { tally: path.join(ROOT, 'src/cli/main.ts') },
    outdir: OUT,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    loader: { '.sql': 'text' },
    logLevel: 'warning',
  });
  fs.writeFileSync(
    path.join(OUT, 'run.mjs'),
    "import { run } from './tally.mjs';\nrun(process.argv.slice(2)).then((code) => { process.exitCode = code; });\n",
  );
  dir = tempDir('tally-cli-analytics-');
  db = path.join(dir, 'tally.db');
  expect(tally(['demo', '--days', '3']).code).toBe(0);
});

describe('tally analytics commands', () => {
  it('aggregate agrees with report; stats and peaks run; bad input names its field', () => {
    const report = JSON.parse(tally(['report', '--json']).out);
    const agg = JSON.parse(tally(['aggregate', 'daily', '--json']).out);
    expect(agg.totals.total_cost).toBe(report.totalCost);
    const stats = tally(['stats', 'api', '--days', '3']);
    expect(stats.code).toBe(0);
    expect(stats.out).toMatch(/p95/);
    expect(tally(['peaks', 'api', '--top', '3', '--json']).out).toMatch(/"rank": 3/);
    const bad = tally(['stats', 'nosuch']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/service: unknown service "nosuch"/);
    expect(tally(['aggregate', 'yearly']).err).toMatch(/granularity/);
    // The seed's weekly aggregation: ISO weeks from the week rollups, each starting on a Monday.
    const weekly = JSON.parse(tally(['aggregate', 'weekly', '--json']).out);
    expect(weekly.rows.length).toBeGreaterThan(0);
    expect(weekly.rows.every((r: { period: string }) => new Date(r.period).getUTCDay() === 1)).toBe(true);
  });

  it('alerts check prints the seed lines and exits 3 when a quota is exceeded', () => {
    expect(tally(['quota', 'set', 'api', '100000000', '--period', 'month']).code).toBe(0);
    const ok = tally(['alerts', 'check']);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^OK: api usage at 0%/);
    // Usage today whatever the hour (the demo ends at the start of the current hour).
    expect(tally(['record', 'api', '20', '{"endpoint":"/x","method":"GET"}']).code).toBe(0);
    expect(tally(['quota', 'set', 'api', '10', '--period', 'day']).code).toBe(0);
    const over = tally(['alerts', 'check']);
    expect(over.code).toBe(3);
    expect(over.out).toMatch(/^QUOTA EXCEEDED: api - \d+\/10 \(\d+%\)$/m);
    expect(tally(['alerts', 'check']).code).toBe(3);
    const history = tally(['alerts', 'list']).out.trim().split('\n');
    // The seed's alert log line: "[2026-01-30 16:30:00] exceeded ALERT for bandwidth: 105/100 (105%)".
    expect(history.filter((l) => /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] exceeded ALERT for api: \d+\/10 \(\d+%\)$/.test(l))).toHaveLength(1);
    const list = tally(['quota', 'list']).out;
    expect(list).toMatch(/default\s+api\s+day\s+10\s+requests/);
    expect(tally(['quota', 'set', 'bandwidth', 'ten']).err).toMatch(/limit: "ten" is not a number/);
    expect(tally(['quota', 'plan', 'enterprise']).code).toBe(0);
    expect(tally(['quota', 'remove', 'api']).code).toBe(0);
  });

  it('export writes a default name with the period and refuses to overwrite without --force', () => {
    const first = tally(['export', 'csv']);
    expect(first.code).toBe(0);
    const name = fs.readdirSync(dir).find((f) => f.startsWith('tally-usage-') && f.endsWith('.csv'))!;
    expect(name).toMatch(/^tally-usage-\d{4}-\d{2}-01_\d{4}-\d{2}-\d{2}\.csv$/);
    const again = tally(['export', 'csv']);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already exists: pass --force/);
    expect(tally(['export', 'csv', '--force']).code).toBe(0);
    expect(tally(['export', 'pdf']).err).toMatch(/format/);
  });

  it('archive refuses while another writer holds the database, and maintenance runs', () => {
    const lock = acquireWriterLock(db, 'tally agent');
    try {
      const r = tally(['archive', '--older-than', '1d']);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/in use by another writer.*Stop the agent first, or run this through the agent's API/);
    } finally {
      lock.release();
    }
    const a = tally(['archive', '--older-than', '2d', '--json']);
    expect(a.code).toBe(0);
    expect(JSON.parse(a.out).archived).toBeGreaterThan(0);
    expect(tally(['archive', 'list']).out).toMatch(/tally-archive-before-/);
    const m = tally(['maintenance']);
    expect(m.code).toBe(0);
    expect(m.out).toMatch(/optimize: done/);
    expect(tally(['archive', '--older-than', 'soon']).err).toMatch(/older-than/);
  });
});
