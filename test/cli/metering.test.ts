// Credits and time zones as a user runs them: the bundled CLI on a real database file, with a
// fixed clock (TALLY_NOW).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tally, tallyJson } from '../helpers/cli';
import { tempDir } from '../helpers/db';

const NOW = '2026-11-20T12:00:00Z';

function setup() {
  const dir = tempDir('tally-cli-metering-');
  const env = { TALLY_DB: path.join(dir, 'tally.db'), TALLY_NOW: NOW, TALLY_NO_AGENT: '1' };
  const records = [];
  // 300 requests for acme: 100 on the last UTC evening of 31 October (1 November in Kolkata), 200 in November.
  for (let i = 0; i < 300; i++)
    records.push({
      service: 'api',
      quantity: 1,
      customerId: 'acme',
      recordedAt: new Date(i < 100 ? Date.UTC(2026, 9, 31, 19) + i * 1000 : Date.UTC(2026, 10, 10) + i * 1000).toISOString(),
      metadata: { endpoint: '/x', method: 'GET' },
    });
  fs.writeFileSync(path.join(dir, 'records.json'), JSON.stringify(records));
  expect(tally(['price', 'set', 'api', '0.01', '--from', '2026-01-01'], env).code).toBe(0);
  const imported = tally(['import', path.join(dir, 'records.json')], env);
  expect(imported.stderr).toBe('');
  return env;
}

describe('tally credits', () => {
  it('grant, list, balance, statement amount due, void', () => {
    const env = setup();
    const g = tallyJson<{ id: number; amount: string }>(
      ['credits', 'grant', '--customer', 'acme', '--amount', '2.5', '--from', '2026-10-01', '--priority', '10'],
      env,
    );
    expect(g.amount).toBe('2.5000');
    tallyJson(
      ['credits', 'grant', '--customer', 'acme', '--amount', '100', '--from', '2026-10-01', '--expires', '2027-01-01', '--note', 'launch'],
      env,
    );
    expect(tallyJson<unknown[]>(['credits', 'list'], env)).toHaveLength(2);
    // October: 1.00 (100 requests), drawn from the priority-10 grant first; November: 2.00.
    const b = tallyJson<{ remaining: string; used: string }>(['credits', 'balance', '--customer', 'acme'], env);
    expect([b.used, b.remaining]).toEqual(['3.0000', '99.5000']);
    const s = tallyJson<{ total: string; creditsApplied: string; amountDue: string }>(
      ['statement', '--month', '2026-11', '--customer', 'acme'],
      env,
    );
    expect([s.total, s.creditsApplied, s.amountDue]).toEqual(['2.0000', '2.0000', '0.0000']);
    const v = tally(['credits', 'void', String(g.id), '--reason', 'test'], env);
    expect(v.code).toBe(0);
    expect(tally(['credits', 'void', String(g.id), '--reason', 'again'], env)).toMatchObject({ code: 1 });
  });

  it('balance counts a grant from later this month as the statement draws it; a later month’s grant stands apart', () => {
    const env = setup();
    // It is 20 November: the grant from the 25th covers November (months that end after it takes effect).
    tallyJson(['credits', 'grant', '--customer', 'acme', '--amount', '5', '--from', '2026-11-25'], env);
    tallyJson(['credits', 'grant', '--customer', 'acme', '--amount', '3', '--from', '2026-12-02'], env);
    const s = tallyJson<{ creditsApplied: string }>(['statement', '--month', '2026-11', '--customer', 'acme'], env);
    expect(s.creditsApplied).toBe('2.0000');
    const out = tally(['credits', 'balance', '--customer', 'acme'], env).stdout.split('\n');
    expect(out[0]).toBe('acme: 3.0000 left of 5.0000 granted (2.0000 used); 3.0000 scheduled for later months');
    const rows = out.slice(3, 5).map((t) => t.trim().split(/\s+/));
    expect(rows.map((r) => [r[1], r[2], r[3], r.at(-1)])).toEqual([
      ['5.0000', '2.0000', '3.0000', 'active'],
      ['3.0000', '0.0000', '3.0000', 'scheduled'],
    ]);
  });

  it('bad input exits 1 naming the field, and stores nothing', () => {
    const env = setup();
    const bad = tally(['credits', 'grant', '--customer', 'acme', '--amount', '-5'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/amount/);
    expect(tally(['credits', 'grant', '--amount', '5'], env).stderr).toMatch(/customer/);
    expect(tally(['credits', 'grant', '--customer', 'acme', '--amount', '5', '--expires', '2026-02-30'], env).stderr).toMatch(
      /expiresAt|expires/,
    );
    expect(tallyJson<unknown[]>(['credits', 'list'], env)).toEqual([]);
  });
});

describe('tally zone', () => {
  it('a customer in Asia/Kolkata sees its 1 November begin at 18:30 UTC the day before', () => {
    const env = setup();
    expect(tally(['zone', 'set', 'Mars/Base', '--customer', 'acme'], env)).toMatchObject({ code: 1 });
    expect(tallyJson<{ timezone: string }>(['zone', 'set', 'Asia/Kolkata', '--customer', 'acme'], env).timezone).toBe('Asia/Kolkata');
    const r = tallyJson<{ timezone: string; source: string; rows: Array<{ period: string; events: number; cost: string }> }>(
      ['zone', 'report', 'daily', '--month', '2026-11', '--customer', 'acme'],
      env,
    );
    expect([r.timezone, r.source]).toEqual(['Asia/Kolkata', 'customer']);
    expect(r.rows.map((x) => [x.period, x.events, x.cost])).toEqual([
      ['2026-11-01', 100, '1.0000'],
      ['2026-11-10', 200, '2.0000'],
    ]);
    const utc = tallyJson<{ rows: Array<{ period: string; events: number }> }>(
      ['zone', 'report', 'monthly', '--month', '2026-11', '--tz', 'UTC', '--customer', 'acme'],
      env,
    );
    expect(utc.rows.map((x) => [x.period, x.events])).toEqual([['2026-11', 200]]);
    // The statement bills acme's local November: the 100 requests of 31 October 19:00 UTC are in it.
    const st = tallyJson<{ total: string; timezones: Array<{ timezone: string; from: string }> }>(
      ['statement', '--month', '2026-11', '--customer', 'acme'],
      env,
    );
    expect([st.total, st.timezones[0]!.timezone, st.timezones[0]!.from]).toEqual(['3.0000', 'Asia/Kolkata', '2026-10-31T18:30:00.000Z']);
  });
});

describe('tally services add --aggregation', () => {
  it('a unique_count service counts each user once a month; a bad kind is refused naming the field', () => {
    const dir = tempDir('tally-cli-agg-');
    const env = { TALLY_DB: path.join(dir, 'tally.db'), TALLY_NOW: NOW, TALLY_NO_AGENT: '1' };
    const bad = tally(['services', 'add', 'mau', '--unit', 'users', '--aggregation', 'unique'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/aggregation/);
    expect(tally(['services', 'add', 'mau', '--unit', 'users', '--aggregation', 'unique:user_id', '--price', '2'], env).code).toBe(0);
    const records = ['a', 'b', 'a', 'c', 'b'].map((u, i) => ({
      service: 'mau',
      customerId: 'acme',
      recordedAt: `2026-11-0${i + 1}T10:00:00Z`,
      metadata: { user_id: u },
    }));
    fs.writeFileSync(path.join(dir, 'mau.json'), JSON.stringify(records));
    expect(tally(['import', path.join(dir, 'mau.json')], env).code).toBe(0);
    const s = tallyJson<{ lines: Array<{ service: string; quantity: string; usageCost: string }> }>(
      ['statement', '--month', '2026-11', '--customer', 'acme'],
      env,
    );
    expect(s.lines.find((l) => l.service === 'mau')).toMatchObject({ quantity: '3', usageCost: '6.0000' });
  });
});

describe('the installation zone (TALLY_TIMEZONE)', () => {
  it('bills customers without a zone of their own for its local month', () => {
    const env = { ...setup(), TALLY_TIMEZONE: 'Asia/Kolkata' };
    const st = tallyJson<{ total: string; timezones: Array<{ customerId: string; timezone: string }> }>(
      ['statement', '--month', '2026-11', '--customer', 'acme'],
      env,
    );
    expect([st.total, st.timezones]).toEqual([
      '3.0000',
      [{ customerId: 'acme', timezone: 'Asia/Kolkata', from: '2026-10-31T18:30:00.000Z', to: '2026-11-30T18:30:00.000Z' }],
    ]);
    expect(tally(['zone', 'show', '--customer', 'acme'], { ...env, TALLY_TIMEZONE: 'Mars/Base' }).code).toBe(1);
  });
});
