// tally agent [--once] [--port N] [--no-http]: the long-running process (see src/agent/agent.ts).
import path from 'node:path';
import { Command } from 'commander';
import type { ConfigInput } from '../../config/config';
import { loadConfig } from '../../config/config';
import { runAgent } from '../../agent/agent';
import { jsonLogger } from '../../agent/log';
import { parseNumberArg } from '../args';
import { globals } from '../context';
import { printJson } from '../output';
import { TallyError } from '../../core/errors';

interface AgentFlags {
  once?: boolean;
  http?: boolean;
  port?: string;
  schedule?: string;
  storagePath?: string[];
  verbose?: boolean;
}

export function registerAgent(program: Command): void {
  program
    .command('agent')
    .description('run the agent: collectors on their schedules, the local HTTP API and dashboard (stop with SIGTERM or Ctrl-C)')
    .option('--once', 'collect once, flush and exit (for cron; no HTTP server)')
    .option('--port <port>', 'HTTP port (env TALLY_PORT; default 7878; 0 picks a free one)')
    .option('--no-http', 'do not serve the HTTP API and dashboard')
    .option('--schedule <cron>', 'one cron schedule for every collector (default from config: every minute)')
    .option('--storage-path <path...>', 'folders the storage collector measures (replaces collectors.storage.paths)')
    .option('--verbose', 'log every collector run (debug level)')
    .action(async (o: AgentFlags, cmd: Command) => {
      const g = globals(cmd);
      const overrides: ConfigInput = {};
      if (g.db) overrides.db = g.db;
      if (g.customer) overrides.customerId = g.customer;
      if (g.durability) {
        if (g.durability !== 'normal' && g.durability !== 'full') {
          throw new TallyError('invalid_input', `--durability: "${g.durability}" must be normal or full`, { field: 'durability' });
        }
        overrides.writer = { durability: g.durability };
      }
      if (o.port !== undefined) overrides.http = { port: parseNumberArg('port', o.port, { integer: true, min: 0 }) };
      const collectors: NonNullable<ConfigInput['collectors']> = {};
      if (o.schedule !== undefined) {
        collectors.storage = { schedule: o.schedule };
        collectors.bandwidth = { schedule: o.schedule };
        collectors.compute = { schedule: o.schedule };
      }
      if (o.storagePath) collectors.storage = { ...collectors.storage, paths: o.storagePath.map((p) => path.resolve(p)) };
      if (Object.keys(collectors).length) overrides.collectors = collectors;
      const config = loadConfig({ file: g.config, overrides });

      const controller = new AbortController();
      let stopping = false;
      const onSignal = (sig: NodeJS.Signals) => {
        if (stopping) {
          // A second signal while flushing: the user means it.
          process.stderr.write(`tally: ${sig} again: exiting without waiting\n`);
          process.exit(1);
        }
        stopping = true;
        controller.abort(sig);
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      try {
        const summary = await runAgent(config, {
          once: o.once,
          http: o.http,
          signal: controller.signal,
          log: jsonLogger(undefined, o.verbose ? 'debug' : 'info'),
          ...(g.config ? { configFile: path.resolve(g.config) } : {}),
        });
        if (o.once && g.json) printJson(summary);
      } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
    });
}
