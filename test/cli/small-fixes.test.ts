// Small CLI fixes, through the built `tally` on one demo day (TALLY_NOW fixed): --format is
// checked everywhere, a detailed report's CSV carries its days, quota limits print whole, and
// export's total follows the one rule as report and the XLSX Summary do.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { UsageReport } from '../../src/analytics/usage';
import { formatMoney, roundLines } from '../../src/core/money';
import { tally, tallyJson } from '../helpers/cli';
import { tempDir } from '../helpers/db';

describe('CLI small fixes', () => {
  const dir = tempDir('tally-small-fixes-');
  const env = { TALLY_DB: path.join(dir, 't.db'), TALLY_NOW: '2026-11-15T12:00:00Z', TALLY_NO_AGENT: '1' };

  beforeAll(() => {
    const demo = tally(['demo', '--days', '1'], env);
    expect(demo.code, demo.stderr).toBe(0);
  });

  it('refuses an unknown --format on every command that has one, even beside --json, naming it', () => {
    for (const args of [['report'], ['aggregate', 'daily'], ['statement'], ['collector', 'report']]) {
      const r = tally([...args, '--json', '--format', 'xml'], env);
      expect(r.code, `${args.join(' ')}: ${r.stdout}`).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/format: "xml" must be table, json/);
    }
  });

  it('statement --out writes the JSON to the file; a table has no file and says so', () => {
    const file = path.join(dir, 'statement.json');
    const written = tally(['statement', '--format', 'json', '--out', file], env);
    expect(written.code, written.stderr).toBe(0);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(tallyJson(['statement'], env));
    expect(tally(['statement', '--format', 'json', '--out', file], env).stderr).toMatch(/already exists/);
    const table = tally(['statement', '--out', path.join(dir, 'table.txt')], env);
    expect(table.code).toBe(1);
    expect(table.stderr).toContain('out: is for --format json, xlsx or pdf');
    expect(fs.existsSync(path.join(dir, 'table.txt'))).toBe(false);
  });

  it('report --detailed --format csv has a row per day and service, and its TOTAL row sums them', () => {
    const json = tallyJson<UsageReport>(['report', '--detailed'], env);
    const text = tally(['report', '--detailed', '--format', 'csv'], env).stdout;
    const rows = parse(text, { columns: true, record_delimiter: ['\r\n'] }) as Array<Record<string, string>>;
    const days = rows.filter((r) => r.day !== 'TOTAL');
    expect(Object.keys(rows[0]!)).toEqual(['day', 'service', 'events', 'usage', 'unit', 'cost']);
    expect(days).toEqual(
      json.daily!.map((d) => ({
        day: d.day,
        service: d.service,
        events: String(d.events),
        usage: String(d.usage),
        unit: d.unit,
        cost: d.cost,
      })),
    );
    expect(new Set(days.map((d) => d.day)).size).toBeGreaterThan(1);
    expect(rows.at(-1)).toMatchObject({ day: 'TOTAL', events: String(json.totalEvents), cost: json.totalCost });
  });

  it('report --format csv without --detailed keeps its per-service shape', () => {
    const json = tallyJson<UsageReport>(['report'], env);
    const csv = tally(['report', '--format', 'csv'], env).stdout.trim().split('\r\n');
    expect(csv[0]).toBe('service,events,quantity,base_unit,usage,unit,cost');
    expect(csv).toHaveLength(json.services.length + 2);
    expect(csv.at(-1)).toBe(`TOTAL,${json.totalEvents},,,,,${json.totalCost}`);
  });

  it('quota set, list and plan print limits whole with thousands separators', () => {
    const set = tally(['quota', 'set', 'api', '1234567'], env);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toBe('quota set: default api 1,234,567 requests per month\n');
    expect(tally(['quota', 'set', 'bandwidth', '10.5'], env).stdout).toContain('bandwidth 10.5 GB per month');
    const list = tally(['quota', 'list'], env).stdout;
    expect(list).toMatch(/default\s+api\s+month\s+1,234,567\s+requests/);
    expect(list).not.toMatch(/\dK\b/);
    expect(tally(['quota', 'plan', 'free'], env).stdout).toMatch(/api\s+month\s+10,000\s+requests/);
  });

  it("export's printed total is the sum of the rounded service lines, as report and the XLSX Summary show it", async () => {
    const json = tallyJson<UsageReport>(['report'], env);
    const money = roundLines(json.services.map((l) => l.cost));
    // This demo day rounds differently line by line ($2.61) than as one exact total ($2.62).
    expect(money.total).not.toBe(roundLines([json.totalCost]).total);
    const shown = formatMoney(money.total);
    expect(tally(['report'], env).stdout).toMatch(new RegExp(`TOTAL.*\\${shown}`));

    const csv = tally(['export', 'csv', '--out', path.join(dir, 'nov.csv')], env);
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout).toContain(`(total cost ${shown}, exact ${json.totalCost})`);
    const xlsxFile = path.join(dir, 'nov.xlsx');
    expect(tally(['export', 'xlsx', '--out', xlsxFile], env).stdout).toContain(`total cost ${shown},`);

    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(xlsxFile);
    const summary = wb.getWorksheet('Summary')!;
    const total = summary.getRows(1, summary.rowCount)!.find((r) => r.getCell(1).value === 'TOTAL')!;
    expect(formatMoney(String((total.getCell(5).value as { result: number }).result))).toBe(shown);
  });
});
