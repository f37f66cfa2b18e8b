// Exports on a real database file: totals agree everywhere, the CSV is strict RFC 4180, the JSON
// has the seed's structure, and the XLSX opens in LibreOffice (headless) with matching figures.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregate } from '../../src/analytics/aggregate';
import { demoRecords } from '../../src/core/demo';
import { formatMoney, parseDecimalToNanos, roundLines } from '../../src/core/money';
import { usageReport } from '../../src/analytics/usage';
import { exportRecords } from '../../src/exports/export';
import type { TallyDb } from '../../src/storage/open';
import { tempDir, testDb, testWriter } from '../helpers/db';

const NOV = Date.UTC(2026, 10, 1);
const DEC = Date.UTC(2026, 11, 1);
const NASTY = { endpoint: '/a,"b"', method: 'GET', note: 'line one\r\nline "two", with commas\nand ünïcödé' };

let dir: string;
let tdb: TallyDb;
let total: number;

beforeAll(async () => {
  dir = tempDir('tally-export-');
  tdb = await testDb(path.join(dir, 'tally.db'));
  const end = Date.UTC(2026, 10, 20);
  const writer = await testWriter(tdb, { clock: () => end, batchSize: 5000 });
  const recs = [...demoRecords({ days: 2, end, seed: 7, customerId: 'acme' })];
  recs.push({ service: 'api', quantity: 1, customerId: 'acme', recordedAt: end - 1, metadata: NASTY });
  await writer.recordMany(recs);
  await writer.close();
  total = recs.length;
});

afterAll(async () => {
  await tdb.close();
});

const nanos = (s: string) => BigInt(parseDecimalToNanos(s));

describe('exports', () => {
  it('report, aggregate, JSON summary, CSV rows and XLSX Summary agree to the last digit', async () => {
    const report = await usageReport(tdb.db, { from: NOV, to: DEC });
    const agg = await aggregate(tdb.db, { granularity: 'monthly', from: NOV, to: DEC });
    const now = Date.UTC(2026, 10, 21);
    const json = await exportRecords({ dbPath: tdb.path, format: 'json', dir, from: NOV, to: DEC, now });
    const csv = await exportRecords({ dbPath: tdb.path, format: 'csv', dir, from: NOV, to: DEC, now });
    const xlsx = await exportRecords({ dbPath: tdb.path, format: 'xlsx', dir, from: NOV, to: DEC, now });
    expect(path.basename(csv.file)).toBe('tally-usage-2026-11-01_2026-11-30.csv');

    const doc = JSON.parse(fs.readFileSync(json.file, 'utf8'));
    expect(Object.keys(doc)).toEqual(['customer_id', 'export_date', 'period', 'service', 'usage_records', 'summary']);
    expect(doc.usage_records).toHaveLength(total);
    expect(doc.summary.total_events).toBe(total);

    const rows = parse(fs.readFileSync(csv.file), { columns: true, record_delimiter: ['\r\n'] }) as Array<Record<string, string>>;
    expect(rows).toHaveLength(total);
    const csvSum = rows.reduce((n, r) => n + nanos(r.total_cost!), 0n);
    const jsonSum = doc.usage_records.reduce((n: bigint, r: { total_cost_exact: string }) => n + nanos(r.total_cost_exact), 0n);
    // The seed's JSON shape: seed keys first in each record, `services` a list, numbers for totals, exact strings beside them.
    expect(Object.keys(doc.usage_records[0]).slice(0, 6)).toEqual([
      'timestamp',
      'service',
      'quantity',
      'unit_cost',
      'total_cost',
      'metadata',
    ]);
    expect(typeof doc.usage_records[0].total_cost).toBe('number');
    expect(doc.period).toMatchObject({ start: '2026-11-01', end: '2026-11-30' });
    expect(Object.keys(doc.summary).slice(0, 3)).toEqual(['total_events', 'total_cost', 'services']);
    expect(doc.summary.services).toEqual(report.services.filter((l) => l.events > 0).map((l) => l.service));
    expect(doc.summary.total_cost).toBe(Number(report.totalCost));

    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(xlsx.file);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['Summary', 'Daily', 'Records']);
    const summary = wb.getWorksheet('Summary')!;
    const totalRow = summary.getRows(1, summary.rowCount)!.find((r) => r.getCell(1).value === 'TOTAL')!;

    const expected = report.totalCost;
    expect(agg.totals.total_cost).toBe(expected);
    expect(doc.summary.total_cost_exact).toBe(expected);
    expect(csv.summary.total_cost).toBe(expected);
    expect(xlsx.summary.total_cost).toBe(expected);
    expect(csvSum).toBe(nanos(expected));
    expect(jsonSum).toBe(nanos(expected));
    expect(totalRow.getCell(6).value).toBe(expected);
    for (const line of report.services.filter((l) => l.events > 0)) {
      expect(doc.summary.by_service[line.service].cost).toBe(line.cost);
      const r = summary.getRows(2, summary.rowCount)!.find((x) => x.getCell(1).value === line.service)!;
      expect([r.getCell(2).value, r.getCell(6).value]).toEqual([line.events, line.cost]);
    }
  });

  it('CSV: strict RFC 4180, newest first, metadata JSON with quotes, commas and newlines intact', async () => {
    const out = path.join(dir, 'strict.csv');
    await exportRecords({ dbPath: tdb.path, format: 'csv', out, from: NOV, to: DEC, now: DEC, service: 'api' });
    const text = fs.readFileSync(out, 'utf8');
    expect(
      text.startsWith(
        'timestamp,service,quantity,unit_cost,total_cost,metadata,id,customer_id,user_id,base_quantity,base_unit,unit,host_id,source\r\n',
      ),
    ).toBe(true);
    const rows = parse(text, { columns: true, record_delimiter: ['\r\n'], relax_quotes: false, relax_column_count: false }) as Array<
      Record<string, string>
    >;
    expect(JSON.parse(rows[0]!.metadata!)).toEqual(NASTY);
    const times = rows.map((r) => Date.parse(r.timestamp!));
    expect(times.every((t, i) => i === 0 || t <= times[i - 1]!)).toBe(true);
    expect(new Set(rows.map((r) => r.service))).toEqual(new Set(['api']));
  });

  it('refuses to overwrite without force, and leaves no partial file when it fails', async () => {
    const out = path.join(dir, 'once.json');
    await exportRecords({ dbPath: tdb.path, format: 'json', out, from: NOV, to: DEC, now: DEC });
    await expect(exportRecords({ dbPath: tdb.path, format: 'json', out, from: NOV, to: DEC, now: DEC })).rejects.toThrow(
      /already exists.*--force/,
    );
    const again = await exportRecords({
      dbPath: tdb.path,
      format: 'json',
      out,
      from: NOV,
      to: DEC,
      now: DEC,
      force: true,
      service: 'storage',
    });
    expect(JSON.parse(fs.readFileSync(out, 'utf8')).service).toBe('storage');
    expect(again.records).toBeGreaterThan(0);
    await expect(
      exportRecords({ dbPath: tdb.path, format: 'csv', out: path.join(dir, 'x.csv'), from: NOV, to: DEC, now: DEC, service: 'nope' }),
    ).rejects.toThrow(/service/);
    await expect(
      exportRecords({ dbPath: tdb.path, format: 'xlsx', out: path.join(dir, 'x.csv'), from: NOV, to: DEC, now: DEC }),
    ).rejects.toThrow(/\.xlsx/);
    expect(fs.readdirSync(dir).filter((f) => f.includes('partial') || f === 'x.csv')).toEqual([]);
  });

  it('XLSX opens in LibreOffice headless: every sheet converts to CSV and its figures match', async () => {
    const out = path.join(dir, 'lo.xlsx');
    const r = await exportRecords({ dbPath: tdb.path, format: 'xlsx', out, from: NOV, to: DEC, now: DEC, customerId: 'acme' });
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(out);
    const records = wb.getWorksheet('Records')!;
    expect(records.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
    const first = records.getRow(2);
    expect(first.getCell(2).value).toBeInstanceOf(Date);
    expect(typeof first.getCell(11).value).toBe('number');

    const conv = path.join(dir, 'lo-out');
    fs.mkdirSync(conv, { recursive: true });
    // All sheets (the 12th filter token, -1), UTF-8, comma-separated, one file per sheet.
    execFileSync(
      'soffice',
      [
        `-env:UserInstallation=file://${path.join(dir, 'lo-profile')}`,
        '--headless',
        '--convert-to',
        'csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1',
        '--outdir',
        conv,
        out,
      ],
      { stdio: 'pipe', timeout: 120_000 },
    );
    const files = fs.readdirSync(conv).sort();
    expect(files).toEqual(['lo-Daily.csv', 'lo-Records.csv', 'lo-Summary.csv']);
    const summary = parse(fs.readFileSync(path.join(conv, 'lo-Summary.csv')), { relax_column_count: true }) as string[][];
    const totalLine = summary.find((row) => row[0] === 'TOTAL')!;
    expect(totalLine[5]).toBe(r.summary.total_cost);
    // The Cost cells show the minor unit, and the TOTAL LibreOffice computed is the sum of the rounded lines.
    const rounded = roundLines(Object.values(r.summary.services).map((x) => x.cost));
    expect(totalLine[4]).toBe(formatMoney(rounded.total));
    const recs = parse(fs.readFileSync(path.join(conv, 'lo-Records.csv'))) as string[][];
    expect(recs).toHaveLength(r.records + 1);
    const nasty = recs.find((row) => row[12]?.includes('line one'))!;
    expect(JSON.parse(nasty[12]!)).toEqual(NASTY);
    const exactSum = recs.slice(1).reduce((n, row) => n + nanos(row[11]!), 0n);
    expect(exactSum).toBe(nanos(r.summary.total_cost));
  });
});
