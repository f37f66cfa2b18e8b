// The statement as people read it from the bundled CLI (table, XLSX as LibreOffice shows it, PDF
// as pdftotext reads it), at a fixed clock: credits and the amount due under the total, every
// printed total the sum of the printed lines above it, and billed quantities never abbreviated.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { formatMoney, toNanos } from '../../src/core/money';
import { tally, tallyJson } from '../helpers/cli';
import { tempDir } from '../helpers/db';

const NOW = '2026-11-15T12:00:00Z';
const META = '{"endpoint":"/a","method":"GET"}';

function setup() {
  const dir = tempDir('tally-statement-print-');
  const env = { TALLY_DB: path.join(dir, 'tally.db'), TALLY_NOW: NOW, TALLY_NO_AGENT: '1' };
  const run = (args: string[], at: Record<string, string> = {}) => {
    const r = tally(args, { ...env, ...at });
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  };
  return { dir, env, run };
}

const cents = (printed: string) => toNanos(printed.replace(/[$,]/g, ''));
const lastWord = (line: string) => line.trim().split(/\s+/).at(-1)!;
/** The text after "TOTAL …" in the table: what prints below the lines. */
const tail = (table: string) =>
  table
    .slice(table.indexOf('\nTOTAL ') + 1)
    .trimEnd()
    .split('\n');

function pdfText(run: (args: string[]) => string, dir: string, args: string[]): string[] {
  const file = path.join(dir, `statement-${Math.random().toString(36).slice(2)}.pdf`);
  run(['statement', ...args, '--format', 'pdf', '--out', file]);
  return execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' }).split('\n');
}

/** The XLSX's one sheet as LibreOffice shows it: formulas computed, cells formatted. */
function xlsxAsShown(run: (args: string[]) => string, dir: string, args: string[]): string[][] {
  const out = fs.mkdtempSync(path.join(dir, 'xlsx-'));
  const file = path.join(out, 'statement.xlsx');
  run(['statement', ...args, '--format', 'xlsx', '--out', file]);
  execFileSync(
    'soffice',
    [
      `-env:UserInstallation=file://${path.join(dir, 'lo-profile')}`,
      '--headless',
      '--convert-to',
      'csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false',
      '--outdir',
      out,
      file,
    ],
    { stdio: 'pipe', timeout: 120_000 },
  );
  return parse(fs.readFileSync(path.join(out, 'statement.csv')), { relax_column_count: true }) as string[][];
}

describe('tally statement: credits and the amount due', () => {
  it('print under the total in the table, the XLSX and the PDF, as --json has them', () => {
    const { dir, run } = setup();
    run(['record', 'api', '1000', META, '--customer', 'acme']);
    run(['credits', 'grant', '--customer', 'acme', '--amount', '0.05', '--from', '2026-11-01']);
    const json = JSON.parse(run(['statement', '--customer', 'acme', '--json'])) as { creditsApplied: string; amountDue: string };
    expect([json.creditsApplied, json.amountDue]).toEqual(['0.0500', '0.0500']);

    expect(tail(run(['statement', '--customer', 'acme']))).toEqual([
      'TOTAL $0.10   (GB = GiB)',
      '  credits applied -$0.05',
      'AMOUNT DUE $0.05',
      'open: closes 2026-12-04T00:00:00.000Z',
    ]);
    expect(formatMoney(json.amountDue)).toBe('$0.05');

    const sheet = xlsxAsShown(run, dir, ['--customer', 'acme']);
    const cell = (label: string) => sheet.find((r) => r[0] === label)?.[7];
    expect([cell('TOTAL'), cell('Credits applied'), cell('AMOUNT DUE')]).toEqual(['$0.10', '-$0.05', '$0.05']);

    const pdf = pdfText(run, dir, ['--customer', 'acme']);
    const amount = (label: string) => lastWord(pdf.find((t) => t.trimStart().startsWith(`${label} `))!);
    expect([amount('Total'), amount('Credits applied'), amount('Amount due')]).toEqual(['$0.10', '-$0.05', '$0.05']);
  });

  it('leave the table as it was when no credit or adjustment applies', () => {
    const { dir, run } = setup();
    run(['record', 'api', '1000', META, '--customer', 'acme']);
    expect(tail(run(['statement']))).toEqual(['TOTAL $0.10   (GB = GiB)', 'open: closes 2026-12-04T00:00:00.000Z']);
    const sheet = xlsxAsShown(run, dir, []);
    expect(sheet.at(-1)![0]).toBe('TOTAL');
  });

  it('with a late event for a closed month: TOTAL WITH ADJUSTMENTS and AMOUNT DUE are the sums of the printed lines', () => {
    const { dir, run } = setup();
    const october = { TALLY_NOW: '2026-10-20T12:00:00Z' };
    run(['record', 'api', '100', META, '--customer', 'acme', '--at', '2026-10-10T00:00:00Z'], october);
    // October closed on 4 November (grace); this freezes its statement before the late event.
    expect(run(['statement', '--month', '2026-10'])).toMatch(/closed 2026-11-04/);
    run(['record', 'api', '12345', META, '--customer', 'acme', '--at', '2026-10-11T00:00:00Z']); // +1.2345
    run(['record', 'api', '1005', META, '--customer', 'acme']); // 0.1005 in November
    run(['credits', 'grant', '--customer', 'acme', '--amount', '0.5', '--from', '2026-11-01']);

    // Credits cover the adjustment too. Exact: 0.1005 + 1.2345 − 0.5 = 0.835; printed: $0.10 + $1.23 − $0.50 = $0.83.
    expect(tail(run(['statement', '--customer', 'acme']))).toEqual([
      'TOTAL $0.10   (GB = GiB)',
      '  adjustment for 2026-10: +12 345 requests, +$1.23',
      'TOTAL WITH ADJUSTMENTS $1.33',
      '  credits applied -$0.50',
      'AMOUNT DUE $0.83',
      'open: closes 2026-12-04T00:00:00.000Z',
      'exact total $0.1005 (rounding -0.0005); exact amount due $0.8350',
    ]);

    const sheet = xlsxAsShown(run, dir, ['--customer', 'acme']);
    const from = sheet.findIndex((r) => r[0] === 'TOTAL');
    expect(sheet.slice(from, from + 4).map((r) => [r[0], r[7]])).toEqual([
      ['TOTAL', '$0.10'],
      ['Adjustment for 2026-10: api (acme)', '$1.23'],
      ['Credits applied', '-$0.50'],
      ['AMOUNT DUE', '$0.83'],
    ]);

    const pdf = pdfText(run, dir, ['--customer', 'acme']);
    const start = pdf.findIndex((t) => t.trimStart().startsWith('Total '));
    const end = pdf.findIndex((t) => t.trimStart().startsWith('Amount due '));
    const above = pdf.slice(start, end).filter((t) => t.trim() !== '');
    expect(above.map((t) => lastWord(t))).toEqual(['$0.10', '$1.23', '-$0.50']);
    expect(cents(lastWord(pdf[end]!))).toBe(above.reduce((n, t) => n + cents(lastWord(t)), 0n));
  });
});

describe('tally statement: billed quantities', () => {
  it('print whole, with thousands separators, in the table and the PDF', () => {
    const { dir, env, run } = setup();
    run(['services', 'add', 'p', '--unit', 'calls']);
    run(['price', 'set', 'p', '--package', '1000:2.50', '--from', '2026-01-01']);
    for (const n of ['1', '999', '1']) run(['record', 'p', n]);
    run(['quota', 'set', 'p', '500', '--customer', 'default']);
    const json = tallyJson<{ lines: Array<{ usage: number; quota: number; overage: number }> }>(['statement'], env);
    expect(json.lines.map((l) => [l.usage, l.quota, l.overage])).toEqual([[1001, 500, 501]]);

    // 1,001 calls are two packages of 1000: "1.00K" hid why the line is $5.00.
    const row = run(['statement'])
      .split('\n')
      .find((t) => t.startsWith('default '))!;
    expect(row.split(/\s{2,}/)).toEqual(['default', 'p', '1,001', 'calls', '2.50 per 1000 calls', '$5.00', '$0.00', '$5.00', '500', '501']);

    const pdf = pdfText(run, dir, []);
    const cells = pdf
      .find((t) => t.trimStart().startsWith('p '))!
      .trim()
      .split(/\s{2,}/);
    expect([cells[0], cells[1], cells.at(-1)]).toEqual(['p', '1,001 calls', '$5.00']);
    // The pricing cell wraps: its words, in order.
    expect(pdf.join(' ').replace(/\s+/g, ' ')).toMatch(/2\.50 per 1000 calls, quota 500 (\$5\.00 )?\(overage 501\)/);
  });
});
