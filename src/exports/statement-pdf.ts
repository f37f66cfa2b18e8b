// A statement people can send: an A4 PDF (pdfkit) with the customer, the period, one line per
// service (usage, pricing, amount), adjustments and credits where there are any, and totals
// rounded as core/money.ts says, so the printed lines add up to the printed total. The file
// appears under its name only when complete.
import fs from 'node:fs';
import path from 'node:path';
import type { Statement } from '../analytics/statement';
import { printStatement, type PrintableStatement } from '../analytics/statement-print';
import { fsyncDir, partialName } from './files';

export interface StatementPdfOptions {
  readonly currency?: string;
  /** Written into the PDF's metadata (fixed in tests). */
  readonly createdAt?: Date;
}

// Column x positions and widths on A4 (595 pt wide, 50 pt margins).
const COLS = [
  { key: 'service', x: 50, w: 85, align: 'left' },
  { key: 'usage', x: 135, w: 75, align: 'right' },
  { key: 'unit', x: 215, w: 75, align: 'left' },
  { key: 'pricing', x: 290, w: 150, align: 'left' },
  { key: 'amount', x: 440, w: 105, align: 'right' },
] as const;

export async function writeStatementPdf(s: PrintableStatement, file: string, o: StatementPdfOptions = {}): Promise<void> {
  const { default: PDFDocument } = await import('pdfkit'); // loaded only for PDF output
  const p = printStatement(s, o.currency ?? 'USD');
  const tmp = partialName(file);
  const doc = new PDFDocument({
    size: 'A4',
    margin: 50,
    info: { Title: `Statement ${s.month}`, Author: 'Tally', CreationDate: o.createdAt ?? new Date() },
  });
  const out = fs.createWriteStream(tmp);
  const finished = new Promise<void>((resolve, reject) => {
    out.on('finish', resolve);
    out.on('error', reject);
  });
  doc.pipe(out);
  try {
    header(doc, s);
    const customers = [...new Set(s.lines.map((l) => l.customerId))];
    let y = doc.y + 10;
    y = row(doc, y, ['Service', 'Usage', 'Unit', 'Pricing', 'Amount'], true);
    for (const [i, l] of s.lines.entries()) {
      const r = p.rows[i]!;
      if (y > 760) {
        doc.addPage();
        y = 50;
      }
      const name = customers.length > 1 ? `${l.service} (${l.customerId})` : l.service;
      y = row(doc, y, [name, r[2]!, r[3]!, pricing(l, r), r[7]!]);
    }
    y = rule(doc, y);
    y = sumRow(doc, y, 'Total', p.total, true);
    for (const [label, amount] of p.below) y = sumRow(doc, y, label, amount);
    if (p.due) y = sumRow(doc, y, 'Amount due', p.due, true);
    doc.font('Helvetica').fontSize(8).fillColor('#555555');
    doc.text(
      [
        "Amounts are rounded half-even to the currency's minor unit; the total is the sum of the rounded lines.",
        p.note ? `${p.note.replace(/^exact/, 'Exact')}.` : 'The rounded lines add up to the exact total.',
        'GB = GiB (2^30 bytes).',
      ].join(' '),
      50,
      y + 16,
      { width: 495 },
    );
    doc.end();
    await finished;
    fs.renameSync(tmp, file);
    fsyncDir(path.dirname(file));
  } catch (err) {
    doc.end();
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

type Doc = PDFKit.PDFDocument;

/** The pricing cell: the price, then the minimum top-up and the quota with its overage where they apply. */
function pricing(l: Statement['lines'][number], r: readonly string[]): string {
  const parts = [l.pricing];
  if (Number(l.minimumTopUp) !== 0) parts.push(`minimum top-up ${r[6]}`);
  if (l.quota !== null) parts.push(`quota ${r[8]}${l.overage ? ` (overage ${r[9]})` : ''}`);
  return parts.join(', ');
}

function header(doc: Doc, s: Statement): void {
  doc.font('Helvetica-Bold').fontSize(18).fillColor('#111111').text('Statement', 50, 50);
  doc.font('Helvetica').fontSize(10).fillColor('#333333');
  doc.text(`Customer: ${s.customerId ?? 'all customers'}`);
  // A customer with a zone of its own is billed for its local month (frozen statements from before zones have none).
  const zones = s.timezones ?? [];
  const own = zones.find((z) => z.customerId === s.customerId);
  doc.text(`Period: ${s.from.slice(0, 10)} to ${lastDay(s.to)} (${own?.timezone ?? 'UTC'})`);
  doc.text(`Month: ${s.month}`);
  for (const z of zones) if (z !== own) doc.text(`${z.customerId}: billed for its local month in ${z.timezone}`);
}

function lastDay(toExclusive: string): string {
  return new Date(Date.parse(toExclusive) - 1).toISOString().slice(0, 10);
}

function row(doc: Doc, y: number, cells: readonly string[], bold = false): number {
  doc
    .font(bold ? 'Helvetica-Bold' : 'Helvetica')
    .fontSize(9)
    .fillColor('#111111');
  let height = 0;
  COLS.forEach((c, i) => {
    const text = cells[i] ?? '';
    doc.text(text, c.x, y, { width: c.w, align: c.align });
    height = Math.max(height, doc.heightOfString(text, { width: c.w }));
  });
  return y + height + 4;
}

/** A line under the total: its label across the first four columns (an adjustment's is long), the amount in the last. */
function sumRow(doc: Doc, y: number, label: string, amount: string, bold = false): number {
  const last = COLS[COLS.length - 1]!;
  doc
    .font(bold ? 'Helvetica-Bold' : 'Helvetica')
    .fontSize(9)
    .fillColor('#111111');
  const width = last.x - COLS[0].x - 5;
  doc.text(label, COLS[0].x, y, { width });
  doc.text(amount, last.x, y, { width: last.w, align: last.align });
  return y + Math.max(doc.heightOfString(label, { width }), doc.heightOfString(amount, { width: last.w })) + 4;
}

function rule(doc: Doc, y: number): number {
  doc.moveTo(50, y).lineTo(545, y).strokeColor('#999999').lineWidth(0.5).stroke();
  return y + 4;
}
