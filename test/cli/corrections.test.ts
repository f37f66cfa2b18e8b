// Corrections and closed months from the command line, as a user runs them on fixed clocks
// (TALLY_NOW): void and amend with a reason, refusals with exit 1 naming the field, and an
// October event posted on 2026-11-05 (grace 3 days) billed on November as an adjustment while
// October's statement JSON stays byte-identical.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tally, tallyJson } from '../helpers/cli';
import { tempDir } from '../helpers/db';

const db = path.join(tempDir('tally-cli-corr-'), 'tally.db');
const at = (now: string) => ({ TALLY_DB: db, TALLY_NOW: now, TALLY_NO_AGENT: '1' });
const OCT = at('2026-10-25T12:00:00Z');
const NOV5 = at('2026-11-05T12:00:00Z');

const track = (env: Record<string, string>, when: string) =>
  tallyJson<{ id: string }>(['track', 'api', '/users', 'GET', '200', '--at', when, '--customer', 'acme'], env);

describe('tally events void|amend and closed months', () => {
  const ids: string[] = [];

  it('voids and amends with a reason; a second void changes nothing; the audit trail lists both', () => {
    for (let i = 0; i < 3; i++) ids.push(track(OCT, `2026-10-2${i}T10:00:00Z`).id);
    const v = tallyJson<{ kind: string; voidedBy: string; alreadyVoided: boolean }>(
      ['events', 'void', ids[0]!, '--reason', 'test traffic'],
      OCT,
    );
    expect(v).toMatchObject({ kind: 'void', alreadyVoided: false });
    expect(v.voidedBy).toMatch(/^cli:/);
    const again = tally(['events', 'void', ids[0]!, '--reason', 'again'], OCT);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already voided/);
    const a = tallyJson<{ kind: string; newId: string }>(['events', 'amend', ids[1]!, '--quantity', '3', '--reason', 'undercounted'], OCT);
    expect(a.kind).toBe('amend');
    const trail = tallyJson<Array<{ kind: string; id: string; reason: string }>>(['events', 'corrections'], OCT);
    expect(trail.map((c) => [c.kind, c.id, c.reason])).toEqual([
      ['amend', ids[1], 'undercounted'],
      ['void', ids[0], 'test traffic'],
    ]);
    const csv = path.join(path.dirname(db), 'with-voided.csv');
    const exported = tally(['export', 'csv', '--month', '2026-10', '--include-voided', '--out', csv], OCT);
    expect(exported.code).toBe(0);
    // The count says what the file holds: the live records and the voided ones beside them.
    expect(exported.stdout).toContain('exported 2 records and 2 voided (marked, not in the totals)');
    const [header, ...rows] = fs.readFileSync(csv, 'utf8').trim().split('\r\n');
    expect(header!.split(',').at(-1)).toBe('voided_at');
    expect(rows).toHaveLength(4); // three events and the amend's replacement
    const voidedRows = rows.filter((r) => /Z$/.test(r)).map((r) => ids.find((id) => r.includes(id)));
    expect(voidedRows.sort()).toEqual([ids[0], ids[1]].sort());
    const oct = tallyJson<{ total: string; lines: Array<{ events: number }> }>(['statement', '--month', '2026-10'], OCT);
    // Live: the third event (1 request) and the replacement (3): 4 × 0.0001.
    expect(oct.total).toBe('0.0004');
    expect(oct.lines[0]!.events).toBe(2);
  });

  it('refuses with exit 1 and the field: no reason, an unknown id, amending a voided event, closing a month not ended', () => {
    const noReason = tally(['events', 'void', ids[2]!], OCT);
    expect(noReason.code).toBe(1);
    expect(noReason.stderr).toMatch(/--reason/);
    const unknown = tally(['events', 'void', '01JZZZZZZZZZZZZZZZZZZZZZZZ', '--reason', 'x'], OCT);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no event with id/);
    const amendVoided = tally(['events', 'amend', ids[0]!, '--quantity', '2', '--reason', 'x'], OCT);
    expect(amendVoided.code).toBe(1);
    expect(amendVoided.stderr).toMatch(/already voided/);
    const early = tally(['statement', 'close', '--month', '2026-11'], NOV5);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/month/);
  });

  it('an October event posted on 2026-11-05 lands on November as an adjustment; October is byte-identical before and after', () => {
    const before = tally(['statement', '--month', '2026-10', '--json'], NOV5);
    expect(before.code, before.stderr).toBe(0);
    expect(JSON.parse(before.stdout)).toMatchObject({ state: 'closed', closedAt: '2026-11-04T00:00:00.000Z' });
    track(NOV5, '2026-10-30T10:00:00Z');
    const after = tally(['statement', '--month', '2026-10', '--json'], NOV5);
    expect(after.stdout).toBe(before.stdout);
    const nov = tallyJson<{ state: string; adjustments: Array<{ forMonth: string; events: number; description: string }> }>(
      ['statement', '--month', '2026-11'],
      NOV5,
    );
    expect(nov.state).toBe('open');
    expect(nov.adjustments).toEqual([expect.objectContaining({ forMonth: '2026-10', events: 1 })]);
    expect(nov.adjustments[0]!.description).toBe('adjustment for 2026-10: +1 requests, +$0.00');
    const table = tally(['statement', '--month', '2026-11'], NOV5);
    expect(table.stdout).toMatch(/adjustment for 2026-10: \+1 requests/);
    expect(table.stdout).toMatch(/open: closes 2026-12-04/);
    const closed = tally(['statement', 'close', '--month', '2026-10'], NOV5);
    expect(closed.code).toBe(0);
    expect(closed.stdout).toMatch(/already closed 2026-11-04T00:00:00.000Z by grace/);
    expect(tally(['sync', 'corrections'], NOV5).stdout).toMatch(/nothing waits/);
    const report = tally(['report', '--month', '2026-10'], NOV5);
    expect(report.stdout).toMatch(/late for 2026-10 \(closed 2026-11-04T00:00:00.000Z\): 1 events/);
  });
});
