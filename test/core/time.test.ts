// One strict date parser for every face. A table of impossible and unsupported dates goes
// through the parser, HTTP (POST /v1/events), the CLI (`tally record --at`, report ranges) and
// `tally import`: each is refused naming the field and the accepted forms, and nothing is stored.
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDateInput, parseInstant } from '../../src/core/time';
import { tempDir } from '../helpers/db';
import { tally } from '../helpers/cli';
import { apiEvent, postEvents, startAgent, type TestAgent } from '../server/agent';

const NOW = Date.UTC(2026, 10, 22, 12);

/** Each was measured as accepted or silently moved on main before this parser. */
const INVALID = [
  '2024-02-30', // stored as 2024-03-01
  '2025-04-31', // stored as May 1st: the wrong month billed
  '2026-11-31', // refused, but as "more than 5 minutes in the future"
  'June 15, 2026', // accepted
  '2026-02-29T10:00:00Z', // not a leap year
  '2026-11-22T24:00:00Z',
  '2026-11-22T12:60:00Z',
  '2026-11-22T12:00:61Z',
  '2026-13-01T00:00:00Z',
  '2026-11-22T12:00:00+24:00',
  '22/11/2026',
  '1763812800', // a number in a string is not a date
  'yesterday',
];

const VALID: Array<[string, string]> = [
  ['2026-11-22T11:05:00Z', '2026-11-22T11:05:00.000Z'],
  ['2026-11-22T12:05:00+01:00', '2026-11-22T11:05:00.000Z'],
  ['2026-11-22T06:35:00-0430', '2026-11-22T11:05:00.000Z'],
  ['2026-11-22T11:05:00.123456Z', '2026-11-22T11:05:00.123Z'],
  ['2026-11-22 11:05:00', '2026-11-22T11:05:00.000Z'],
  ['2026-11-22T11:05:00', '2026-11-22T11:05:00.000Z'],
  ['2024-02-29', '2024-02-29T00:00:00.000Z'],
];

describe('parseInstant', () => {
  it.each(INVALID)('refuses %s', (text) => {
    expect(parseInstant(text)).toBeNull();
    expect(parseDateInput(text)).toBeNull();
  });

  it.each(VALID)('reads %s as %s', (text, iso) => {
    expect(new Date(parseInstant(text)!).toISOString()).toBe(iso);
  });

  it('reads the toISOString() form exactly as the general form: same instants, same refusals', () => {
    // A leading space is trimmed by the general path and keeps a text off the 24-character one.
    const general = (text: string) => parseInstant(` ${text}`);
    const texts: string[] = [];
    for (const year of ['0000', '0099', '1900', '1970', '2000', '2024', '2026', '2100', '9999'])
      for (const month of ['00', '01', '02', '04', '12', '13'])
        for (const day of ['00', '01', '28', '29', '30', '31', '32'])
          for (const time of ['00:00:00.000', '23:59:59.999', '24:00:00.000', '12:60:00.000', '12:00:60.000', '12:30:45.678'])
            texts.push(`${year}-${month}-${day}T${time}Z`);
    const good = '2026-11-22T14:05:09.123Z';
    // Every character replaced by a near one: other shapes, non-digits, separators.
    for (let i = 0; i < good.length; i++)
      for (const c of ['0', '9', '/', ':', 'a', ' ', 'T', 'Z', 'z', '.', '-', '\u0660'])
        texts.push(good.slice(0, i) + c + good.slice(i + 1));
    texts.push(good.toLowerCase(), good.replace('T', ' '), `${good} `, good.slice(0, -1) + '+00:00');
    for (const text of texts) expect(parseInstant(text), text).toBe(general(text));
    expect(texts.filter((t) => parseInstant(t) !== null).length).toBeGreaterThan(100);
  });

  it('checks the day of the month and counts the instant as Date.UTC does, in every year from 1970; earlier years are refused', () => {
    // The reference: range checks with a Date object, and Date.UTC for the instant. Before 1970
    // nothing is an instant Tally stores, and Date.UTC would read years 0-99 as 1900-1999.
    const reference = (y: number, mo: number, d: number) =>
      y < 1970 || mo < 1 || mo > 12 || d < 1 || d > new Date(Date.UTC(y, mo, 0)).getUTCDate()
        ? null
        : Date.UTC(y, mo - 1, d, 23, 59, 59, 999);
    const pad = (n: number, w: number) => String(n).padStart(w, '0');
    for (let y = 0; y <= 9999; y += y < 120 || (y > 1890 && y < 2110) ? 1 : 7)
      for (const [mo, d] of [
        [1, 31],
        [2, 28],
        [2, 29],
        [3, 1],
        [4, 30],
        [4, 31],
        [12, 31],
      ] as const) {
        const text = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T23:59:59.999Z`;
        expect(parseInstant(text), text).toBe(reference(y, mo, d));
        expect(parseInstant(text.replace('T', ' ')), text).toBe(reference(y, mo, d));
      }
  });

  it('a year before 1970 is refused in every form, never read as 19xx', () => {
    for (const text of [
      '0000-01-01',
      '0099-12-31T10:00:00Z',
      '0050-06-15 12:00:00',
      '1969-12-31T23:59:59.999Z',
      '1970-01-01T00:30:00+01:00',
    ]) {
      expect(parseInstant(text), text).toBeNull();
      expect(parseDateInput(text), text).toBeNull();
    }
    expect(parseDateInput('0000-01')).toBeNull();
    expect(parseDateInput('1969-12', true)).toBeNull();
    expect(parseDateInput('1970-01')).toBe(0);
    expect(parseDateInput('1970-01-01T01:00:00+01:00')).toBe(0);
    expect(new Date(parseDateInput('2026-12', true)!).toISOString()).toBe('2027-01-01T00:00:00.000Z');
  });

  it('a range end given as a day or a month means the end of it', () => {
    expect(new Date(parseDateInput('2026-02-28', true)!).toISOString()).toBe('2026-03-01T00:00:00.000Z');
    expect(new Date(parseDateInput('2026-02', true)!).toISOString()).toBe('2026-03-01T00:00:00.000Z');
    expect(parseDateInput('2026-00')).toBeNull();
  });
});

describe('invalid dates through HTTP', () => {
  let agent: TestAgent;
  beforeAll(async () => {
    agent = await startAgent({ writer: { clock: () => NOW } });
  });
  afterAll(() => agent.stop());

  it.each(INVALID)('POST /v1/events with recordedAt %s: 400 naming the field and the accepted forms, nothing stored', async (text) => {
    const r = await postEvents(agent, [apiEvent({ recordedAt: '2026-11-22T11:00:00Z' }), apiEvent({ recordedAt: text })]);
    expect(r.status).toBe(400);
    const body = r.json<{ error: { message: string; field?: string } }>();
    expect(JSON.stringify(body)).toMatch(/recordedAt/);
    expect(JSON.stringify(body)).toMatch(/not a date; accepted: RFC 3339/);
    expect(agent.rows()).toBe(0);
  });
});

describe('invalid dates through the CLI and import', () => {
  const dir = tempDir('tally-dates-');
  const env = { TALLY_DB: path.join(dir, 'tally.db'), TALLY_NOW: new Date(NOW).toISOString() };
  const rows = () => {
    if (!fs.existsSync(env.TALLY_DB)) return 0;
    const db = new BetterSqlite3(env.TALLY_DB, { readonly: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM usage_records').get() as { n: number }).n;
    } finally {
      db.close();
    }
  };

  beforeAll(() => {
    // A database with one record, so every refusal below is about the date (and stores nothing).
    expect(tally(['record', 'api', '1', '{"endpoint":"/","method":"GET"}', '--at', '2026-11-22T10:00:00Z'], env).code).toBe(0);
  });

  it.each(INVALID)('tally record --at %s and --from on a report: exit 1 naming the flag', (text) => {
    const r = tally(['record', 'api', '1', '{"endpoint":"/","method":"GET"}', '--at', text], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/at: .* is not a date; accepted: YYYY-MM, RFC 3339/);
    const report = tally(['report', '--from', text], env);
    expect(report.code).toBe(1);
    expect(report.stderr).toMatch(/from: .* is not a date/);
    expect(rows()).toBe(1);
  });

  it('tally import with one impossible date among good records: exit 1 naming the record, nothing stored', () => {
    for (const text of INVALID) {
      const file = path.join(dir, 'import.jsonl');
      const good = JSON.stringify(apiEvent({ recordedAt: '2026-11-22 11:00:00' }));
      fs.writeFileSync(file, `${good}\n${JSON.stringify(apiEvent({ recordedAt: text }))}\n${good}\n`);
      const r = tally(['import', file], env);
      expect(r.code, text).toBe(1);
      expect(r.stderr, text).toMatch(/records\[1\]\.recordedAt: .* is not a date; accepted: RFC 3339/);
      expect(rows()).toBe(1);
    }
  });

  it('the seeds\' "YYYY-MM-DD HH:MM:SS" (UTC) form is accepted by the CLI', () => {
    const r = tally(['record', 'api', '1', '{"endpoint":"/","method":"GET"}', '--at', '2026-11-22 11:05:00'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(rows()).toBe(2);
  });
});
