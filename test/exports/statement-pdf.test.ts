// The statement as a PDF, read back with pdftotext (poppler-utils): customer, period, a line per
// service with its amount in cents, and a total that is the sum of the printed lines, with the
// exact total beneath (the statement's JSON keeps it exact).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { monthStatement } from '../../src/analytics/statement';
import { demoRecords } from '../../src/core/demo';
import { formatMoney, roundLines, toNanos } from '../../src/core/money';
import { writeStatementPdf } from '../../src/exports/statement-pdf';
import { tempDir, testDb, testWriter } from '../helpers/db';

const cents = (text: string) => toNanos(text.replace(/[$,]/g, ''));

describe('statement PDF', () => {
  it('prints rounded lines that add up to the printed total, with the exact total beneath', async () => {
    const dir = tempDir('tally-pdf-');
    const tdb = await testDb(path.join(dir, 'tally.db'));
    const end = Date.UTC(2026, 9, 31, 12);
    const writer = await testWriter(tdb, { clock: () => end, batchSize: 5000 });
    await writer.recordMany([...demoRecords({ days: 20, end, seed: 3, customerId: 'acme' })]);
    await writer.close();
    const s = await monthStatement(tdb.db, { month: '2026-10', customerId: 'acme' });
    await tdb.close();

    const file = path.join(dir, 'statement.pdf');
    await writeStatementPdf(s, file, { currency: 'USD', createdAt: new Date(end) });
    const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });

    expect(text).toContain('Customer: acme');
    expect(text).toContain('Period: 2026-10-01 to 2026-10-31 (UTC)');
    const rounded = roundLines(s.lines.map((l) => l.lineTotal));
    const printed: bigint[] = [];
    for (const [i, l] of s.lines.entries()) {
      const line = text.split('\n').find((t) => t.trimStart().startsWith(`${l.service} `))!;
      expect(line, l.service).toBeDefined();
      const amount = line.trim().split(/\s+/).at(-1)!;
      expect(amount, l.service).toBe(formatMoney(rounded.lines[i]!));
      printed.push(cents(amount));
    }
    const totalLine = text.split('\n').find((t) => t.trimStart().startsWith('Total '))!;
    const total = totalLine.trim().split(/\s+/).at(-1)!;
    expect(cents(total)).toBe(printed.reduce((a, b) => a + b, 0n));
    expect(total).toBe(formatMoney(rounded.total));
    // The exact total is the statement's own (JSON) figure.
    if (rounded.difference !== 0n) expect(text.replace(/\s+/g, ' ')).toContain(`Exact total $${s.total}`);
    else expect(text).toContain('The rounded lines add up to the exact total.');
  });
});
