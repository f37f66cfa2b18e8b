// The finish people see from the CLI, on `tally demo` at a fixed clock: the demo month's total to
// the cent in the report and the statement (table and PDF), with rounded lines adding up; the exact
// value kept in JSON and CSV; the seed's CSV header and JSON shape; `export --out DIR/`;
// `alerts check --service`; `tally track` refusing swapped arguments.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import type { UsageReport } from '../../src/analytics/usage';
import { formatMoney, roundLines, toNanos } from '../../src/core/money';
import { tally, tallyJson } from '../helpers/cli';
import { tempDir } from '../helpers/db';

const dir = tempDir('tally-finish-');
const env = { TALLY_DB: path.join(dir, 'tally.db'), TALLY_NOW: '2026-11-20T15:30:00Z', TALLY_NO_AGENT: '1' };
const MONTH = '2026-10';

beforeAll(() => {
  const r = tally(['demo', '--days', '60'], env);
  expect(r.code, r.stderr).toBe(0);
});

const lastAmount = (line: string) => line.trim().split(/\s+/).at(-1)!;

describe('money in the CLI', () => {
  it('the report and the statement show the demo month to the cent; the lines add up; JSON and CSV stay exact', () => {
    const report = tallyJson<UsageReport>(['report', '--month', MONTH], env);
    const rounded = roundLines(report.services.map((l) => l.cost));
    const table = tally(['report', '--month', MONTH], env).stdout;
    expect(table).toContain(`│ ${formatMoney(rounded.total)} │`);
    for (const l of report.services) expect(table).toContain(` ${formatMoney(l.cost)} │`);
    if (rounded.difference !== 0n) expect(table).toContain(`exact total $${report.totalCost}`);

    const statement = tally(['statement', '--month', MONTH], env).stdout.split('\n');
    const s = tallyJson<{ total: string; lines: Array<{ service: string; lineTotal: string }> }>(['statement', '--month', MONTH], env);
    const printed = s.lines.map((l) =>
      lastAmount(statement.find((t) => t.startsWith('default') && t.includes(` ${l.service} `))!.replace(/\s+—\s+—$/, '')),
    );
    const total = statement.find((t) => t.startsWith('TOTAL '))!.split(/\s+/)[1]!;
    expect(toNanos(total.replace(/[$,]/g, ''))).toBe(printed.reduce((n, a) => n + toNanos(a.replace(/[$,]/g, '')), 0n));
    expect(s.total).toBe(report.totalCost);

    const pdf = path.join(dir, 'statement.pdf');
    expect(tally(['statement', '--month', MONTH, '--format', 'pdf', '--out', pdf], env).code).toBe(0);
    const text = execFileSync('pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8' });
    expect(lastAmount(text.split('\n').find((t) => t.trimStart().startsWith('Total '))!)).toBe(total);

    const out = path.join(dir, 'exports') + '/';
    fs.mkdirSync(out);
    expect(tally(['export', 'csv', '--month', MONTH, '--out', out], env).code).toBe(0);
    expect(tally(['export', 'json', '--month', MONTH, '--out', out], env).code).toBe(0);
    const csvText = fs.readFileSync(path.join(out, 'tally-usage-2026-10-01_2026-10-31.csv'), 'utf8');
    expect(csvText.split('\r\n')[0]).toBe(
      'timestamp,service,quantity,unit_cost,total_cost,metadata,id,customer_id,user_id,base_quantity,base_unit,unit,host_id,source',
    );
    const rows = parse(csvText, { columns: true }) as Array<Record<string, string>>;
    expect(rows.reduce((n, r) => n + toNanos(r.total_cost!), 0n)).toBe(toNanos(report.totalCost));
    const doc = JSON.parse(fs.readFileSync(path.join(out, 'tally-usage-2026-10-01_2026-10-31.json'), 'utf8'));
    expect(doc.summary).toMatchObject({
      total_events: report.totalEvents,
      total_cost: Number(report.totalCost),
      total_cost_exact: report.totalCost,
    });
    expect(doc.summary.services).toEqual(report.services.filter((l) => l.events > 0).map((l) => l.service));
  });
});

describe('seed forms and argument checks', () => {
  it('alerts check --service checks that service only, and an unknown one is named', () => {
    expect(tally(['quota', 'set', 'api', '100', '--period', 'day'], env).code).toBe(0);
    expect(tally(['quota', 'set', 'database', '100000000'], env).code).toBe(0);
    const api = tally(['alerts', 'check', '--service', 'api'], env);
    expect(api.code).toBe(3);
    expect(api.stdout).toMatch(/^QUOTA EXCEEDED: api - \d+\/100 \(\d+%\)$/m);
    expect(api.stdout).not.toMatch(/database/);
    const db = tally(['alerts', 'check', '--service', 'database'], env);
    expect(db.code).toBe(0);
    expect(db.stdout).toMatch(/^OK: database usage at \d+%/);
    expect(tally(['alerts', 'check', '--service', 'nosuch'], env).stderr).toMatch(/service: unknown service "nosuch"/);
    expect(tally(['alerts', 'list'], env).stdout).toMatch(/^\[2026-11-20 15:30:00\] exceeded ALERT for api: \d+\/100 \(\d+%\)$/m);
  });

  it('tally track refuses arguments in the wrong order, naming the argument and the order', () => {
    const swapped = tally(['track', 'api', 'GET', '/users', '200'], env);
    expect(swapped.code).toBe(1);
    expect(swapped.stderr).toContain('endpoint: "GET" must start with / (expected: tally track api <endpoint> <method> <status>');
    const hours = tally(['track', 'storage', '24', '5368709120'], env);
    expect(hours.code).toBe(1);
    expect(hours.stderr).toMatch(/hours: 5368709120 is more than a year/);
    expect(tally(['track', 'api', '/users', 'GET', '200'], env).code).toBe(0);
  });
});
