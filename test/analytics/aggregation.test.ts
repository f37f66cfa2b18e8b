// Aggregation per service: a month of generated events for each kind, and the report, the
// statement (quantity and cost) and the quota equal a recomputation straight from the raw
// records. unique_count over 100 000 distinct users is exact.
import { describe, expect, it } from 'vitest';
import { monthStatement } from '../../src/analytics/statement';
import { aggregate } from '../../src/analytics/aggregate';
import { peaks, trends } from '../../src/analytics/trends';
import { exportRecords } from '../../src/exports/export';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { voidRecord } from '../../src/storage/corrections';
import { usageReport } from '../../src/analytics/usage';
import { compilePrice, type PriceSpec } from '../../src/core/pricing';
import { formatNanos } from '../../src/core/money';
import { prng } from '../../src/core/demo';
import type { Aggregation } from '../../src/core/aggregation';
import { checkAlerts, DEFAULT_THRESHOLDS } from '../../src/quotas/alerts';
import { setQuota } from '../../src/quotas/quotas';
import { setPriceRule, upsertService } from '../../src/storage/repos/services';
import { fixedClock, testDb, testWriter } from '../helpers/db';

const NOV = Date.UTC(2026, 10, 1);
const DEC = Date.UTC(2026, 11, 1);
const NOW = Date.UTC(2026, 10, 30, 23);

const SERVICES: Array<{ name: string; aggregation: Aggregation; field?: string; valueProperty?: string; spec: PriceSpec }> = [
  {
    name: 'calls',
    aggregation: 'count',
    spec: {
      model: 'tiered',
      tiers: [
        { upTo: 100, unitPrice: '0.01' },
        { upTo: null, unitPrice: '0.005' },
      ],
    },
  },
  { name: 'seats', aggregation: 'max', spec: { model: 'per_unit', unitPrice: '12' } },
  {
    name: 'mau',
    aggregation: 'unique_count',
    field: 'user_id',
    spec: {
      model: 'volume',
      tiers: [
        { upTo: 10, unitPrice: '2' },
        { upTo: null, unitPrice: '1.5' },
      ],
    },
  },
  { name: 'disk', aggregation: 'latest', spec: { model: 'per_unit', unitPrice: '0.25' } },
  { name: 'tokens', aggregation: 'sum', valueProperty: '$.usage.tokens', spec: { model: 'per_unit', unitPrice: '0.000002' } },
];

async function setup(now = NOW) {
  const tdb = await testDb();
  for (const s of SERVICES) {
    await upsertService(
      tdb.db,
      {
        name: s.name,
        displayName: s.name,
        baseUnit: 'units',
        displayUnit: 'units',
        displayFactor: 1,
        integerOnly: true,
        requiredFields: [],
        breakdownKeys: [],
        builtin: false,
        aggregation: s.aggregation,
        aggregationField: s.field ?? null,
        valueProperty: s.valueProperty ?? null,
      },
      0,
    );
    await setPriceRule(tdb.db, { service: s.name, effectiveFrom: 0, spec: s.spec }, 0);
  }
  const writer = await testWriter(tdb, { clock: fixedClock(now).now, batchSize: 10_000, batchTimeoutMs: 60_000 });
  return { tdb, writer };
}

/** The aggregate recomputed from raw live records, the plain way. */
function recompute(rows: Array<{ at: number; seq: number; q: number; meta: string }>, a: Aggregation, field?: string): number {
  if (rows.length === 0) return 0;
  switch (a) {
    case 'sum':
      return rows.reduce((n, r) => n + r.q, 0);
    case 'count':
      return rows.length;
    case 'max':
      return Math.max(...rows.map((r) => r.q));
    case 'latest':
      return [...rows].sort((x, y) => y.at - x.at || y.seq - x.seq)[0]!.q;
    case 'unique_count':
      return new Set(rows.map((r) => (JSON.parse(r.meta) as Record<string, string>)[field!])).size;
  }
}

describe('aggregation per service', () => {
  it('a month of events: report, statement and quota equal the raw records, and the cost is F(the aggregate)', async () => {
    const { tdb, writer } = await setup();
    const rand = prng(13);
    const events = [];
    for (let i = 0; i < 4000; i++) {
      const at = NOV + Math.floor(rand() * (DEC - NOV - 3_600_000));
      const customerId = rand() < 0.5 ? 'acme' : 'beta';
      const s = SERVICES[i % SERVICES.length]!;
      const user = `u${Math.floor(rand() * 40)}`;
      if (s.aggregation === 'count') events.push({ service: s.name, customerId, recordedAt: at, metadata: { endpoint: '/x' } });
      else if (s.aggregation === 'unique_count') events.push({ service: s.name, customerId, recordedAt: at, metadata: { user_id: user } });
      else if (s.valueProperty)
        events.push({ service: s.name, customerId, recordedAt: at, metadata: { usage: { tokens: Math.floor(rand() * 5000) } } });
      else events.push({ service: s.name, quantity: Math.floor(rand() * 50), customerId, recordedAt: at });
    }
    // Shuffled arrival in several flushes: a late reading must not become the gauge's latest.
    for (let i = 0; i < events.length; i += 700) await writer.recordMany(events.slice(i, i + 700));
    const raw = tdb.sqlite
      .prepare(
        'SELECT service, customer_id AS c, recorded_at AS at, seq, quantity AS q, metadata AS meta, cost_nanos AS cost FROM usage_records',
      )
      .all() as Array<{ service: string; c: string; at: number; seq: number; q: number; meta: string; cost: number }>;

    const report = await usageReport(tdb.db, { from: NOV, to: DEC, customerId: 'acme' });
    const statement = await monthStatement(tdb.db, { month: '2026-11', customerId: 'acme' });
    for (const s of SERVICES) {
      await setQuota(tdb.db, { customerId: 'acme', service: s.name, period: 'month', limit: 1_000_000_000 }, NOW);
      const mine = raw.filter((r) => r.service === s.name && r.c === 'acme');
      const expected = recompute(mine, s.aggregation, s.field);
      expect({ s: s.name, q: report.services.find((l) => l.service === s.name)!.quantity }).toEqual({ s: s.name, q: String(expected) });
      const line = statement.lines.find((l) => l.service === s.name)!;
      expect({ s: s.name, q: line.quantity, usage: line.usage }).toEqual({ s: s.name, q: String(expected), usage: expected });
      // The writer priced every record F(after) − F(before): the month costs F(aggregate) exactly.
      const F = compilePrice({ id: 1, service: s.name, effectiveFrom: 0, spec: s.spec, minimumCharge: null }, 1);
      expect({ s: s.name, cost: line.usageCost }).toEqual({ s: s.name, cost: formatNanos(F.charge(expected)) });
      expect(mine.reduce((n, r) => n + r.cost, 0)).toBe(F.charge(expected));
    }
    // The JSON export's summary carries the same aggregates.
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tally-agg-export-')), 'nov.json');
    const exported = await exportRecords({ dbPath: tdb.path, format: 'json', out, from: NOV, to: DEC, customerId: 'acme', now: NOW });
    for (const s of SERVICES) {
      const expected = recompute(
        raw.filter((r) => r.service === s.name && r.c === 'acme'),
        s.aggregation,
        s.field,
      );
      expect({ s: s.name, q: exported.summary.services[s.name]!.quantity }).toEqual({ s: s.name, q: String(expected) });
    }
    const quotas = await checkAlerts(tdb.db, { now: NOW, thresholds: DEFAULT_THRESHOLDS, customerId: 'acme', dryRun: true });
    for (const st of quotas.status) {
      const s = SERVICES.find((x) => x.name === st.service)!;
      const expected = recompute(
        raw.filter((r) => r.service === s.name && r.c === 'acme'),
        s.aggregation,
        s.field,
      );
      expect({ s: s.name, usage: st.usage }).toEqual({ s: s.name, usage: expected });
    }
    await writer.close();
  });

  it('events without the counted field, or without a value at the value property, are refused naming it', async () => {
    const { writer } = await setup();
    await expect(writer.recordMany([{ service: 'mau', metadata: { user: 'x' } }])).rejects.toMatchObject({ field: 'metadata.user_id' });
    await expect(writer.recordMany([{ service: 'tokens', metadata: { usage: {} } }])).rejects.toMatchObject({
      field: 'records[0].quantity',
    });
    await writer.close();
  });

  it('unique_count with 100 000 distinct users is exact (and a repeat visit counts once)', async () => {
    const { tdb, writer } = await setup(Date.UTC(2026, 10, 20));
    const batch = [];
    for (let i = 0; i < 100_000; i++)
      batch.push({ service: 'mau', customerId: 'acme', recordedAt: NOV + i * 10_000, metadata: { user_id: `user-${i}` } });
    for (let i = 0; i < 5_000; i++)
      batch.push({ service: 'mau', customerId: 'acme', recordedAt: NOV + i * 7_000 + 3, metadata: { user_id: `user-${i * 17}` } });
    for (let i = 0; i < batch.length; i += 10_000) await writer.recordMany(batch.slice(i, i + 10_000));
    const report = await usageReport(tdb.db, { from: NOV, to: DEC, customerId: 'acme' });
    expect(report.services.find((l) => l.service === 'mau')!.quantity).toBe('100000');
    const s = await monthStatement(tdb.db, { month: '2026-11', customerId: 'acme' });
    expect(s.lines.find((l) => l.service === 'mau')!.usageCost).toBe('150000.0000'); // volume: all at 1.5
    await writer.close();
  });
});

describe('aggregate per bucket', () => {
  it("daily rows of a unique_count and a max service are each day's distinct users and peak", async () => {
    const { tdb, writer } = await setup();
    const rand = prng(7);
    const events = [];
    for (let i = 0; i < 600; i++) {
      const at = NOV + Math.floor(rand() * 5 * 86_400_000);
      events.push({ service: 'mau', customerId: 'acme', recordedAt: at, metadata: { user_id: `u${Math.floor(rand() * 30)}` } });
      events.push({ service: 'seats', quantity: Math.floor(rand() * 100), customerId: 'acme', recordedAt: at });
    }
    await writer.recordMany(events);
    const raw = tdb.sqlite.prepare('SELECT service, recorded_at AS at, quantity AS q, metadata AS meta FROM usage_records').all() as Array<{
      service: string;
      at: number;
      q: number;
      meta: string;
    }>;
    const r = await aggregate(tdb.db, { granularity: 'daily', from: NOV, to: NOV + 5 * 86_400_000 });
    for (const row of r.rows) {
      const day = Date.parse(row.period);
      const mine = raw.filter((x) => x.service === row.service && x.at >= day && x.at < day + 86_400_000);
      const expected = row.service === 'mau' ? new Set(mine.map((x) => x.meta)).size : Math.max(...mine.map((x) => x.q));
      expect({ service: row.service, day: row.period, q: row.total_quantity }).toEqual({
        service: row.service,
        day: row.period,
        q: expected,
      });
    }
    expect(r.rows.length).toBe(10);
    // Peaks of a max service rank days by their peak reading.
    const p = await peaks(tdb.db, { service: 'seats', by: 'day', top: 2, from: NOV, to: NOV + 5 * 86_400_000 });
    const maxima = r.rows
      .filter((x) => x.service === 'seats')
      .map((x) => x.total_quantity)
      .sort((a, b) => b - a);
    expect(p.rows.map((x) => x.usage)).toEqual(maxima.slice(0, 2));
    // Trends show the same daily aggregates.
    const t = await trends(tdb.db, { from: NOV, to: NOV + 5 * 86_400_000, service: 'mau' });
    expect(t.rows.map((x) => x.usage)).toEqual(r.rows.filter((x) => x.service === 'mau').map((x) => x.total_quantity));
    await writer.close();
  });
});

describe('unique_count and corrections', () => {
  it('voiding the only visit of a user takes the user out of the count; voiding one of two visits does not', async () => {
    const { tdb, writer } = await setup();
    const stored = await writer.recordMany(
      ['a', 'b', 'b', 'c'].map((u, i) => ({
        service: 'mau',
        customerId: 'acme',
        recordedAt: NOV + i * 3_600_000,
        metadata: { user_id: u },
      })),
    );
    const count = async () => (await usageReport(tdb.db, { from: NOV, to: DEC, customerId: 'acme', service: 'mau' })).services[0]!.quantity;
    expect(await count()).toBe('3');
    await voidRecord(writer, { id: stored[1]!.id, reason: 'duplicate', actor: 'test' });
    expect(await count()).toBe('3');
    await voidRecord(writer, { id: stored[0]!.id, reason: 'test user', actor: 'test' });
    expect(await count()).toBe('2');
    const day = await aggregate(tdb.db, { granularity: 'daily', from: NOV, to: NOV + 86_400_000, service: 'mau' });
    expect(day.rows[0]!.total_quantity).toBe(2);
    // The month is re-priced on its new aggregate: 2 users at the volume price of 2 each.
    const mau = (await monthStatement(tdb.db, { month: '2026-11', customerId: 'acme' })).lines.find((l) => l.service === 'mau')!;
    expect([mau.quantity, mau.usageCost]).toEqual(['2', '4.0000']);
    // A peak voided: the month bills the next highest reading.
    const seats = await writer.recordMany(
      [5, 40, 12].map((q, i) => ({ service: 'seats', quantity: q, customerId: 'acme', recordedAt: NOV + i * 1000 })),
    );
    await voidRecord(writer, { id: seats[1]!.id, reason: 'load test', actor: 'test' });
    const line = (await monthStatement(tdb.db, { month: '2026-11', customerId: 'acme' })).lines.find((l) => l.service === 'seats')!;
    expect([line.quantity, line.usageCost]).toEqual(['12', '144.0000']);
    await writer.close();
  });
});
