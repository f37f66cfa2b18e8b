// tally service install|uninstall|status [--user|--system] [--dry-run]: the agent as a systemd
// unit (Linux) or a launchd job (macOS).
import path from 'node:path';
import { Command } from 'commander';
import { invalid } from '../../core/errors';
import { installService, planService, serviceStatus, uninstallService, type ApplyResult } from '../../agent/service/install';
import type { Scope } from '../../agent/service/units';
import { holderIsAlive, lockPathFor, readLockHolder } from '../../storage/lock';
import { globals } from '../context';
import { print, printJson } from '../output';

interface ServiceFlags {
  user?: boolean;
  system?: boolean;
  dryRun?: boolean;
  dir?: string;
}

function scopeOf(o: ServiceFlags): Scope | undefined {
  if (o.user && o.system) throw invalid('scope', 'give --user or --system, not both');
  return o.user ? 'user' : o.system ? 'system' : undefined;
}

/** The unit runs the agent on the database and config this command was given (--db, --config, or their env). */
function planFor(o: ServiceFlags, cmd: Command, describeOnly = false) {
  if (o.dir !== undefined && !path.isAbsolute(o.dir)) throw invalid('dir', `"${o.dir}" must be an absolute path`);
  const g = globals(cmd);
  return planService({ scope: scopeOf(o), dir: o.dir, db: g.db, configFile: g.config, describeOnly });
}

function report(result: ApplyResult, what: string): void {
  if (result.printed) {
    print(`${what}. The service manager is not running here (or --dry-run): run these yourself:`);
    for (const c of result.commands) print(`  ${c.command}`);
    return;
  }
  for (const c of result.commands) {
    print(`$ ${c.command}${c.status === 0 ? '' : `   (exit ${c.status})`}`);
    if (c.output) print(c.output.replace(/^/gm, '  '));
  }
  const failed = result.commands.find((c) => c.status !== 0);
  if (failed) process.exitCode = 1;
}

function withScope(cmd: Command): Command {
  return cmd
    .option('--user', 'for the current user (default unless run as root)')
    .option('--system', 'for the whole machine (needs root)')
    .option('--dir <folder>', 'write the unit file into this folder instead of the service manager’s');
}

export function registerService(program: Command): void {
  const service = program.command('service').description('run the agent as a system service (systemd on Linux, launchd on macOS)');

  withScope(service.command('install'))
    .description('write the service definition, then enable and start it')
    .option('--dry-run', 'print the unit and the commands; change nothing')
    .action((o: ServiceFlags, cmd: Command) => {
      const plan = planFor(o, cmd);
      if (o.dryRun) {
        if (globals(cmd).json) return printJson({ file: plan.file, content: plan.content, commands: plan.enable });
        print(`# ${plan.file}`);
        print(plan.content);
        print('# then:');
        for (const c of installService(plan, { dryRun: true }).commands) print(c.command);
        return;
      }
      const result = installService(plan);
      print(`wrote ${result.file}`);
      report(result, 'Installed the service file');
    });

  withScope(service.command('uninstall'))
    .description('stop and disable the service, and remove its definition')
    .option('--dry-run', 'print the commands; change nothing')
    .action((o: ServiceFlags, cmd: Command) => {
      const plan = planFor(o, cmd, true);
      const result = uninstallService(plan, { dryRun: o.dryRun });
      print(result.wrote ? `removed ${result.file}` : `${result.file}: not installed`);
      report(result, o.dryRun ? 'Nothing changed' : 'Removed the service file');
    });

  withScope(service.command('status'))
    .description('whether the service is installed, enabled and running')
    .action((o: ServiceFlags, cmd: Command) => {
      const plan = planFor(o, cmd, true);
      const st = serviceStatus(plan);
      const holder = readLockHolder(lockPathFor(plan.spec.db));
      const agent = holder && holderIsAlive(holder) ? { pid: holder.pid, since: holder.since, command: holder.command } : null;
      if (globals(cmd).json) return printJson({ ...st, db: plan.spec.db, agent });
      print(`${st.manager} ${plan.scope} service: ${st.installed ? `installed at ${st.file}` : `not installed (${st.file})`}`);
      if (st.outdated) print('  the installed file differs from what `tally service install` writes now: re-run it');
      if (!st.managerAvailable) print(`  ${st.manager} is not running here: cannot ask it`);
      for (const c of st.checks) print(`  ${c.command}: ${c.output || `exit ${c.status}`}`);
      print(agent ? `agent: running on ${plan.spec.db}, pid ${agent.pid} since ${agent.since}` : `agent: not running on ${plan.spec.db}`);
    });
}
