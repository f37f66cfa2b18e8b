// `tally <command>` loads only the modules of the command it names: every command must still be
// there, with all its subcommands (corrections adds `events void`, `sync corrections`, …), exactly
// as when every command is loaded for `tally --help`.
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main';
import { commandNameOf } from '../../src/cli/commands/index';

/** A command's shape: its subcommands' names, recursively, and its options' flags. */
function shape(c: Command): unknown {
  return {
    options: c.options.map((o) => o.flags).sort(),
    commands: Object.fromEntries(c.commands.map((s) => [s.name(), shape(s)])),
  };
}

describe('tally loads only the command it runs', () => {
  it('every command has the same subcommands and options when loaded alone as when all are loaded', async () => {
    const full = await buildProgram();
    const names = full.commands.map((c) => c.name());
    expect(names).toEqual(expect.arrayContaining(['report', 'track', 'events', 'agent', 'collector', 'statement', 'sync']));
    for (const name of names) {
      const alone = await buildProgram(['--db', 'x.db', name, '--json']);
      const mine = alone.commands.find((c) => c.name() === name);
      expect(mine, `tally ${name}`).toBeDefined();
      expect(shape(mine!), `tally ${name}`).toEqual(shape(full.commands.find((c) => c.name() === name)!));
    }
  });

  it('help, a bare tally and an unknown command see every command', async () => {
    const all = (await buildProgram()).commands.length;
    for (const argv of [[], ['--help'], ['--db', 'report'], ['repotr'], ['help', 'report']]) {
      expect((await buildProgram(argv)).commands.length, argv.join(' ')).toBe(all);
    }
  });

  it('finds the command after the root options, whichever takes a value', () => {
    expect(commandNameOf(['--db', 'x.db', '--json', '--customer', 'acme', 'report', '--month', '2026-01'])).toBe('report');
    expect(commandNameOf(['--db=x.db', '--durability', 'full', 'track', 'api'])).toBe('track');
    expect(commandNameOf(['--config', 'c.json'])).toBeUndefined();
  });
});
