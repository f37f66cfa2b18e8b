// What `tally record` tells a person: the cost in the currency to the cent, and the exact cost
// beside it (a single event often costs less than a cent).
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tally } from '../helpers/cli';
import { tempDir } from '../helpers/db';

describe('tally record', () => {
  it('shows the cost to the cent with the exact amount beside it', () => {
    const env = { TALLY_DB: path.join(tempDir('tally-record-'), 'tally.db'), TALLY_NO_AGENT: '1' };
    const api = tally(['record', 'api', '3', '{"endpoint":"/x","method":"GET"}'], env);
    expect(api.code, api.stderr).toBe(0);
    expect(api.stdout).toMatch(/^recorded [0-9A-Z]{26} {2}cost \$0\.00 \(exact 0\.0003\)\n$/);
    const compute = tally(['record', 'compute', '4000'], env);
    expect(compute.stdout).toMatch(/ {2}cost \$0\.06 \(exact 0\.055555556\)\n$/);
  });
});
