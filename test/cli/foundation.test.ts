// The CLI as a new user meets it: demo data, the report against sums taken straight from
// the SQLite file, and every kind of bad input refused with a message naming the field.
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { acquireWriterLock } from '../../src/storage/lock';
import { formatMoney, formatNanos, roundLines } from '../../src/core/money';
import { formatUnits } from '../../src/core/quantity';
import type { UsageReport } from '../../src/analytics/usage';
import { tally, tallyJson } from '../helpers/cli';
import { tempDir } from '../helpers/db';

const dir = tempDir('tally-cli-');
const demoDb = path.join(dir, 'demo.db');
// A fixed "now" for every tally run of this file: the demo data and the months asked for do
// not depend on the machine's calendar.
const NOW = Date.UTC(2026, 10, 15, 12);
const env = { TALLY_DB: demoDb, TALLY_NOW: new Date(NOW).toISOString() };

beforeAll(() => {
  const r = tally(['demo', '--days', '45'], env);
  expect(r.code, r.stderr).toBe(0);
});

function monthBounds(offset: number): { month: string; from: number; to: number } {
  const now = new Date(NOW);
  const from = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1);
  const to = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset + 1, 1);
  return { month: new Date(from).toISOString().slice(0, 7), from, to };
}

describe('tally report', () => {
  it.each([0, -1])('a month report (offset %i) equals sums computed straight from the raw records', (offset) => {
    const { month, from, to } = monthBounds(offset);
    const report = tallyJson<UsageReport>(['report', '--month', month], env);
    const db = new BetterSqlite3(demoDb, { readonly: true });
    const raw = db
      .prepare(
        `SELECT service, count(*) AS n, CAST(sum(quantity) AS TEXT) AS q, sum(cost_nanos) AS c,
                (SELECT integer_only FROM services s WHERE s.name = service) AS whole
         FROM usage_records WHERE recorded_at >= ? AND recorded_at < ? GROUP BY service`,
      )
      .all(from, to) as Array<{ service: string; n: number; q: string; c: number; whole: number }>;
    const total = db
      .prepare('SELECT sum(cost_nanos) FROM usage_records WHERE recorded_at >= ? AND recorded_at < ?')
      .pluck()
      .get(from, to) as number;
    db.close();
    expect(raw.length).toBe(6);
    for (const r of raw) {
      const line = report.services.find((l) => l.service === r.service)!;
      expect(line.events).toBe(r.n);
      expect(line.cost).toBe(formatNanos(r.c));
      // Exact: integer units summed by SQLite, shown in the base unit (CPU-seconds to the µs).
      expect(line.quantity).toBe(formatUnits(BigInt(r.q), r.whole === 1 ? 0 : 6));
    }
    expect(report.totalCost).toBe(formatNanos(total));
  });

  it('the table, CSV and JSON forms agree, and the table is the boxed USAGE SUMMARY with GiB noted', () => {
    const { month } = monthBounds(-1);
    const json = tallyJson<UsageReport>(['report', '--month', month], env);
    const table = tally(['report', '--month', month], env).stdout;
    expect(table).toMatch(/USAGE SUMMARY/);
    expect(table).toMatch(/GB = GiB/);
    // People see cents: the total of the rounded lines, with the exact total beneath when they differ.
    const rounded = roundLines(json.services.map((l) => l.cost));
    expect(table).toContain(`TOTAL`);
    expect(table).toContain(formatMoney(rounded.total));
    if (rounded.difference !== 0n) expect(table).toContain(`exact total $${json.totalCost}`);
    const csv = tally(['report', '--month', month, '--format', 'csv'], env).stdout.trim().split('\r\n');
    expect(csv[0]).toBe('service,events,quantity,base_unit,usage,unit,cost');
    expect(csv.at(-1)).toBe(`TOTAL,${json.totalEvents},,,,,${json.totalCost}`);
  });

  it('a detailed report breaks the period down per day, and the days add up to the total', () => {
    const { month } = monthBounds(-1);
    const report = tallyJson<UsageReport>(['report', '--month', month, '--detailed', '--service', 'api'], env);
    const daySum = report.daily!.reduce((n, d) => n + d.costNanos, 0);
    expect(formatNanos(daySum)).toBe(report.totalCost);
    expect(new Set(report.daily!.map((d) => d.day)).size).toBeGreaterThan(20);
  });

  it('demo --if-empty leaves a filled database alone', () => {
    const r = tallyJson<{ skipped: boolean }>(['demo', '--days', '1', '--if-empty'], env);
    expect(r.skipped).toBe(true);
  });
});

describe('bad input is refused, named, and nothing is stored', () => {
  const db = path.join(dir, 'bad.db');
  const e = { TALLY_DB: db };
  const stored = () => {
    if (!fs.existsSync(db)) return 0;
    const h = new BetterSqlite3(db, { readonly: true });
    try {
      return h.prepare('SELECT count(*) FROM usage_records').pluck().get() as number;
    } finally {
      h.close();
    }
  };

  it.each([
    [['track', 'api', '/users', 'GET', 'abc'], /status: "abc" is not a number/],
    [['record', 'api', '-5', '{"endpoint":"/","method":"GET"}'], /quantity: must be ≥ 0/],
    [['record', 'api', '1.5', '{"endpoint":"/","method":"GET"}'], /quantity: must be a whole number of requests/],
    [['record', 'api', 'Infinity', '{"endpoint":"/","method":"GET"}'], /quantity: "Infinity" is not a number/],
    [['record', 'api', 'NaN'], /quantity: "NaN" is not a number/],
    [['record', 'teleport', '1'], /service: unknown service "teleport"/],
    [['record', 'api', '1', '{bad json'], /metadata: is not valid JSON/],
    [['record', 'api', '1', '[1,2]'], /metadata: must be a JSON object/],
    [['record', 'api', '1', '{"endpoint":"/users"}'], /metadata\.method: is required for service "api"/],
    [
      ['record', 'api', '1', JSON.stringify({ endpoint: '/', method: 'GET', blob: 'x'.repeat(9000) })],
      /metadata: must be at most 8192 bytes/,
    ],
    [['record', 'api', '1', '{"endpoint":"/","method":"GET"}', '--at', '1990-01-01'], /recordedAt: is more than 5 years in the past/],
    [['record', 'api', '1', '{"endpoint":"/","method":"GET"}', '--at', '2999-01-01'], /recordedAt: is more than 5 minutes in the future/],
    [['record', 'api', '1', '{"endpoint":"/","method":"GET"}', '--at', 'yesterday'], /at: "yesterday" is not a date/],
    [['record', 'api', '1', '{"endpoint":"/","method":"GET"}', '--customer', 'bad id!'], /customerId/],
    [['track', 'bandwidth', '100', 'sideways'], /direction: "sideways" must be ingress or egress/],
    [['record', 'api', '1', '{"endpoint":"/","method":"GET"}', '--id', 'not-a-ulid'], /id: must be a ULID/],
    [['report', '--from', '2026-13-01'], /from: "2026-13-01" is not a date/],
    [['report', '--format', 'xml'], /format: "xml" must be table, json or csv/],
    [['price', 'set', 'api', '-0.5'], /price: /],
    [['price', 'set', 'nope', '0.5'], /service: unknown service "nope"/],
    [['services', 'add', 'Bad-Name', '--unit', 'x'], /name: must start with a-z/],
  ])('tally %j', (args, message) => {
    const r = tally(args, e);
    expect(r.code, r.stdout).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(stored()).toBe(0);
  });

  it('a bulk import with one bad record stores none of them and says which', () => {
    const file = path.join(dir, 'bulk.jsonl');
    const good = { service: 'database', quantity: 1, metadata: { type: 'SELECT' } };
    fs.writeFileSync(file, [good, good, { ...good, quantity: 'many' }, good].map((r) => JSON.stringify(r)).join('\n'));
    const r = tally(['import', file], e);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/records\[2\]\.quantity: must be a number/);
    expect(stored()).toBe(0);
  });

  it('a custom service refuses records missing its required fields, and accepts complete ones', () => {
    expect(
      tally(['services', 'add', 'transcode', '--unit', 'minutes', '--required', 'codec,resolution', '--price', '0.02', '--fractional'], e)
        .code,
    ).toBe(0);
    const bad = tally(['record', 'transcode', '2.5', '{"codec":"av1"}'], e);
    expect(bad.stderr).toMatch(/metadata\.resolution: is required for service "transcode"/);
    expect(stored()).toBe(0);
    const good = tallyJson<{ costNanos: number }>(['record', 'transcode', '2.5', '{"codec":"av1","resolution":"4k"}'], e);
    expect(formatNanos(good.costNanos)).toBe('0.0500');
  });

  it('a second writer is refused with the holder named', () => {
    const lock = acquireWriterLock(db, 'tally agent (test)');
    try {
      const r = tally(['record', 'database', '1', '{"type":"SELECT"}'], e);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`in use by another writer: pid ${process.pid}.*tally agent \\(test\\)`));
    } finally {
      lock.release();
    }
  });
});

describe('help and exit codes', () => {
  it.each([[[]], [['track']], [['track', 'api']], [['report']], [['services', 'add']], [['price', 'set']], [['demo']]])(
    'tally %j --help',
    (args) => {
      const r = tally([...args, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Usage: tally/);
    },
  );

  it('an unknown command is a user error', () => {
    const r = tally(['frobnicate']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown command/);
  });
});
