// The same limits from the CLI, as a user types them (the bundled `tally`, on its own database).
// Measured on main: `services add --factor 0` and `price set --package 0:1` said "must be ≥ 5e-324",
// `quota set api -1` said "must be ≥ 0" while 0 was refused as "> 0", and a report from year 0000
// was a report of 1900.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/db';
import { tally } from '../helpers/cli';

const env = { TALLY_DB: path.join(tempDir('tally-cli-limits-'), 'tally.db'), TALLY_NOW: '2026-11-15T12:00:00Z', TALLY_NO_AGENT: '1' };

describe('tally refuses out-of-range values with the rule itself', () => {
  it.each(['0', '-1', '1e-320', '1e308'])('services add --factor %s: exit 1 naming the display factor and its range', (factor) => {
    const r = tally(['services', 'add', 'widget', '--unit', 'widgets', '--factor', factor], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/displayFactor: must be a number from 1e-15 to 1e24/);
    expect(r.stderr).not.toMatch(/5e-324/);
    expect(tally(['services', 'list', '--json'], env).stdout).not.toContain('widget');
  });

  it('price set --package 0:1 and 0.5:1 for requests: exit 1 with the least package there is', () => {
    for (const size of ['0', '0.5', '-2']) {
      const r = tally(['price', 'set', 'api', '--package', `${size}:1`], env);
      expect(r.code, size).toBe(1);
      expect(r.stderr, size).toMatch(/price: packageSize must be from 1 \(one stored unit\) to 1e15 requests/);
    }
    expect(tally(['price', 'set', 'api', '--package', '1000:0.50'], env).code).toBe(0);
  });

  it('quota set with -1, 0 or 1e300 gives the one rule; a fraction of a request gives the least limit', () => {
    for (const limit of ['-1', '0', '1e300']) {
      const r = tally(['quota', 'set', 'api', limit], env);
      expect(r.code, limit).toBe(1);
      expect(r.stderr, limit).toMatch(/limit: must be a number > 0 and at most 1e15 \(in requests\)/);
    }
    expect(tally(['quota', 'set', 'api', '0.5'], env).stderr).toMatch(/limit: must be at least 1 requests/);
    expect(tally(['quota', 'set', 'api', '1000'], env).code).toBe(0);
    const check = tally(['alerts', 'check'], env);
    expect(check.code, check.stderr).toBe(0);
  });

  it('a report from year 0000 or up to 9999 is refused naming the flag', () => {
    const early = tally(['report', '--from', '0000-01-01'], env);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/from: "0000-01-01" is not a date; .*from 1970 on/);
    const trends = tally(['trends', '--to', '9999-12'], env);
    expect(trends.code, trends.stderr).toBe(1);
    expect(trends.stderr).toMatch(/to: must be at most 3660 days after from/);
  });
});
