// `tally track` sanity rules: swapped or misplaced arguments are refused, naming the argument
// and showing the expected order.
import { describe, expect, it } from 'vitest';
import { parseNumberArg } from '../../src/cli/args';
import { checkApiArgs, checkDatabaseArgs, checkStorageArgs, withUsage } from '../../src/cli/commands/track-checks';
import { TallyError } from '../../src/core/errors';

function message(f: () => void, kind: string): string {
  try {
    f();
  } catch (err) {
    return (withUsage(kind, err) as Error).message;
  }
  return 'accepted';
}

describe('tally track argument checks', () => {
  it('refuses a method where the endpoint belongs, and says the order', () => {
    expect(message(() => checkApiArgs('GET', '/users'), 'api')).toBe(
      'endpoint: "GET" must start with / (expected: tally track api <endpoint> <method> <status>, e.g. tally track api /users GET 200)',
    );
    expect(message(() => checkApiArgs('/users', '200'), 'api')).toMatch(/^method: "200" is not an HTTP method/);
    expect(message(() => checkApiArgs('/users', 'GET'), 'api')).toBe('accepted');
    expect(message(() => checkApiArgs('/users', 'propfind'), 'api')).toBe('accepted');
  });

  it('refuses hours and bytes swapped', () => {
    expect(message(() => checkStorageArgs(24, 5368709120), 'storage')).toMatch(
      /^hours: 5368709120 is more than a year \(8784 hours\); bytes come first \(expected: tally track storage <bytes> <hours>/,
    );
    expect(message(() => checkStorageArgs(5368709120, 24), 'storage')).toBe('accepted');
    expect(message(() => checkStorageArgs(0, 24), 'storage')).toBe('accepted');
  });

  it('names a number argument in the wrong place with the order', () => {
    expect(message(() => parseNumberArg('bytes', 'egress'), 'bandwidth')).toBe(
      'bytes: "egress" is not a number (expected: tally track bandwidth <bytes> <direction>, e.g. tally track bandwidth 524288000 egress)',
    );
    expect(message(() => checkDatabaseArgs('45'), 'database')).toMatch(/^type: "45" is not a query type/);
    const e = withUsage('api', new TallyError('internal', 'boom'));
    expect((e as Error).message).toBe('boom');
  });
});

describe('tally --help', () => {
  it("ends with the seed's function names and the commands that do their job", async () => {
    const { Command } = await import('commander');
    const { registerSeedHelp, SEED_COMMANDS } = await import('../../src/cli/commands/seed-help');
    const program = new Command('tally');
    registerSeedHelp(program);
    let text = '';
    program.configureOutput({ writeOut: (s) => (text += s) });
    program.outputHelp();
    expect(text).toMatch(/^ {2}usage_get_stats +tally stats api --days 30$/m);
    expect(SEED_COMMANDS.map(([f]) => f)).toContain('usage_track_storage');
  });
});
