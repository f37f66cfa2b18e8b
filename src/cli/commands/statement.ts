// tally statement --month YYYY-MM: the month's billable lines and exact total (table, json, xlsx).
import path from 'node:path';
import { Command } from 'commander';
import type { Worksheet } from 'exceljs';

import { invalid } from '../../core/errors';
import type { BillingStatement } from '../../analytics/closing';
import { currencyOf, formatNanos, roundHalfEven, toNanos } from '../../core/money';
import { callHandler } from '../call';
import { printStatement, type PrintableStatement, type PrintedStatement } from '../../analytics/statement-print';
import { checkTarget } from '../../exports/files';
import { writeFileAtomic } from '../../files/atomic';
import { writeStatementPdf } from '../../exports/statement-pdf';
import { configFor, globals } from '../context';
import { formatTable, print, printJson } from '../output';

export function registerStatement(program: Command): void {
  program
    .command('statement')
    .description("the month's billable lines per customer and service: tiers, minimum charges, quota overage, exact total")
    .option('--month <YYYY-MM>', 'the month (default: this month)')
    .option('--format <format>', 'table, json, xlsx or pdf', 'table')
    .option('--out <file>', 'json, xlsx or pdf file (xlsx and pdf default to tally-statement-YYYY-MM.<format>)')
    .option('--force', 'overwrite an existing file')
    .action(async (o: { month?: string; format: string; out?: string; force?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      if (!['table', 'json', 'xlsx', 'pdf'].includes(o.format)) throw invalid('format', `"${o.format}" must be table, json, xlsx or pdf`);
      const format = g.json ? 'json' : o.format;
      const month = o.month ?? new Date().toISOString().slice(0, 7);
      // Through the service layer: a closed month prints its frozen statement, byte for byte.
      const s = await callHandler(configFor(g), 'statement.month', { month, ...(g.customer !== undefined && { customerId: g.customer }) });
      if (o.out !== undefined && format === 'table')
        throw invalid('out', 'is for --format json, xlsx or pdf: the table goes to the terminal');
      if (format === 'json' && o.out !== undefined) {
        const file = checkTarget(o.out, o.force ?? false);
        writeFileAtomic(file, JSON.stringify(s, null, 2) + '\n', 0o644);
        return g.json ? printJson({ month, file }) : print(`statement ${month} → ${file}`);
      }
      if (format === 'json') return printJson(s);
      if (format === 'pdf') {
        const file = checkTarget(
          o.out ?? path.resolve(`tally-statement-${month}${g.customer ? `-${g.customer}` : ''}.pdf`),
          o.force ?? false,
        );
        const currency = configFor(g).currency;
        await writeStatementPdf(s, file, { currency });
        return print(`statement ${month}: ${written(printStatement(s, currency), s.lines.length)} → ${file}`);
      }
      if (format === 'xlsx') {
        const file = checkTarget(
          o.out ?? path.resolve(`tally-statement-${month}${g.customer ? `-${g.customer}` : ''}.xlsx`),
          o.force ?? false,
        );
        await writeStatementXlsx(s, file, configFor(g).currency);
        return print(`statement ${month}: ${written(printStatement(s, configFor(g).currency), s.lines.length)} → ${file}`);
      }
      const p = printStatement(s, configFor(g).currency);
      print(p.title);
      print(formatTable(p.header, p.rows));
      for (const [customer, subtotal] of p.subtotals) print(`  ${customer}: ${subtotal}`);
      print(`TOTAL ${p.total}   (GB = GiB)`);
      printBilling(s, p);
      if (p.note) print(p.note);
    });
}

/** A past month before the first month with usage (analytics/closing.ts: closesByGrace). */
const AWAITING_USAGE =
  'open: no usage for this month or before it yet, so history imported now lands in it; it closes once usage for it is stored';

/** "3 lines, total $0.10, amount due $0.05": what a written file holds, as printed in it. */
function written(p: PrintedStatement, lines: number): string {
  return `${lines} lines, total ${p.total}${p.credits ? `, amount due ${p.due}` : ''}`;
}

/**
 * Below the total: adjustments for closed months, credits and the amount due (each as printed,
 * so every printed total is the sum of the lines above it), then whether the month is open.
 */
function printBilling(s: BillingStatement, p: PrintedStatement): void {
  for (const a of s.adjustments) print(`  ${a.description}`);
  if (p.withAdjustments) print(`TOTAL WITH ADJUSTMENTS ${p.withAdjustments}`);
  if (p.credits) {
    print(`  credits applied ${p.credits}`);
    print(`AMOUNT DUE ${p.due}`);
  }
  // Frozen statements from before zones have no timezones.
  for (const z of s.timezones ?? []) print(`${z.customerId}: billed for its local month in ${z.timezone}`);
  print(s.state === 'closed' ? `closed ${s.closedAt}` : s.awaitingUsage ? AWAITING_USAGE : `open: closes ${s.closesAt}`);
}

async function writeStatementXlsx(s: PrintableStatement, file: string, currency = 'USD'): Promise<void> {
  const { default: ExcelJS } = await import('exceljs'); // loaded only for XLSX output
  // Amounts in the currency's minor unit, each line rounded half-even and the TOTAL the SUM of the
  // rounded lines (core/money.ts); the exact amounts sit in their own text column.
  const c = currencyOf(currency);
  const MONEY = `"${c.prefix.trim()}"#,##0${c.decimals > 0 ? `.${'0'.repeat(c.decimals)}` : ''}`;
  const p = printStatement(s, currency);
  const rounded = p.rounded;
  const minor = (text: string) => Number(roundHalfEven(toNanos(text), c.decimals)) / 1e9;
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('Statement', { views: [{ state: 'frozen', ySplit: 1 }] });
  ws.columns = [
    { header: 'Customer', key: 'customer', width: 16 },
    { header: 'Service', key: 'service', width: 12 },
    { header: 'Usage', key: 'usage', width: 16, style: { numFmt: '#,##0.00####' } },
    { header: 'Unit', key: 'unit', width: 22 },
    { header: 'Pricing', key: 'pricing', width: 24 },
    { header: 'Usage cost', key: 'usageCost', width: 16, style: { numFmt: MONEY } },
    { header: 'Minimum top-up', key: 'topUp', width: 16, style: { numFmt: MONEY } },
    { header: 'Line total', key: 'total', width: 16, style: { numFmt: MONEY } },
    { header: 'Line total (exact)', key: 'exact', width: 20 },
    { header: 'Quota', key: 'quota', width: 12 },
    { header: 'Overage', key: 'overage', width: 12 },
  ];
  ws.getRow(1).font = { bold: true };
  for (const [i, l] of s.lines.entries()) {
    ws.addRow({
      customer: l.customerId,
      service: l.service,
      usage: l.usage,
      unit: l.unit.includes('GB') ? `${l.unit} (GB = GiB)` : l.unit,
      pricing: l.pricing,
      usageCost: minor(l.usageCost),
      topUp: minor(l.minimumTopUp),
      total: Number(rounded.lines[i]!) / 1e9,
      exact: l.lineTotal,
      quota: l.quota,
      overage: l.overage,
    });
  }
  const n = s.lines.length;
  const row = ws.addRow({
    customer: 'TOTAL',
    total: n ? { formula: `SUM(H2:H${n + 1})`, result: Number(rounded.total) / 1e9 } : 0,
    exact: s.total,
  });
  row.font = { bold: true };
  addBelowTotal(ws, s, p, c.decimals);
  if (p.note) ws.addRow({ customer: p.note });
  await wb.xlsx.writeFile(file);
}

/** Adjustments, credits and the AMOUNT DUE as the SUM of the rounded cells from TOTAL down (as printStatement prints them). */
function addBelowTotal(ws: Worksheet, s: PrintableStatement, p: PrintedStatement, decimals: number): void {
  if (p.due === null) return;
  const first = ws.rowCount; // the TOTAL row
  let due = p.rounded.total;
  let exactDue = toNanos(s.total);
  const add = (label: string, exact: bigint) => {
    const rounded = roundHalfEven(exact, decimals);
    due += rounded;
    exactDue += exact;
    ws.addRow({ customer: label, total: Number(rounded) / 1e9, exact: formatNanos(exact) });
  };
  // p.below lists the adjustments first, then the credits line when credits apply.
  for (const [i, a] of (s.adjustments ?? []).entries()) add(p.below[i]![0], toNanos(a.cost));
  if (p.credits) add('Credits applied', -toNanos(s.creditsApplied));
  const row = ws.addRow({
    customer: 'AMOUNT DUE',
    total: { formula: `SUM(H${first}:H${ws.rowCount})`, result: Number(due) / 1e9 },
    exact: formatNanos(exactDue),
  });
  row.font = { bold: true };
}
