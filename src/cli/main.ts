// The `tally` command line. Exit codes: 0 ok, 1 user error (one line on stderr), 2 internal error.
import './clock';
import { Command, CommanderError } from 'commander';
import { toTallyError } from '../core/errors';
import { commandGroups, groupsFor, type RegisterGroup } from './commands/index';
import { VERSION } from '../core/version';

/**
 * The program with the commands `argv` needs (every command when argv is omitted): a command's
 * module, and what it imports, is loaded only when the command line names it.
 */
export async function buildProgram(argv?: readonly string[]): Promise<Command> {
  const groups = argv === undefined ? commandGroups : groupsFor(argv);
  const registers: RegisterGroup[] = await Promise.all(groups.map((g) => g.load()));
  const program = new Command('tally')
    .description('Tally: local-first usage metering')
    .version(VERSION)
    .option('--db <file>', 'database file (env TALLY_DB; default: the platform data directory)')
    .option('--config <file>', 'config file (env TALLY_CONFIG; default: ~/.config/tally/config.json)')
    .option('--customer <id>', 'customer id (env TALLY_CUSTOMER_ID; default from config)')
    .option('--durability <mode>', 'normal: committed records survive a crash; full: also a power loss')
    .option('--json', 'machine-readable output')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of registers) register(program);
  // Subcommands inherit exit override and error output settings.
  program.commands.forEach(function inherit(c: Command) {
    c.exitOverride();
    c.commands.forEach(inherit);
  });
  return program;
}

export async function run(argv: string[]): Promise<number> {
  try {
    const program = await buildProgram(argv);
    await program.parseAsync(argv, { from: 'user' });
    // A command that finished but failed its purpose (a sync that left records undelivered) sets exitCode.
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed the message (or the help / version).
      return err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 1;
    }
    const e = toTallyError(err);
    if (e.code === 'internal') {
      process.stderr.write(`tally: internal error: ${e.message}\n`);
      if (process.env.TALLY_DEBUG) process.stderr.write(`${(err as Error).stack ?? ''}\n`);
      return 2;
    }
    process.stderr.write(`tally: ${e.message}\n`);
    return 1;
  }
}
