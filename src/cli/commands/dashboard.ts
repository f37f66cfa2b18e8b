// tally dashboard: prints the running agent's dashboard link, which carries the access token.
// The agent never writes that link to its log; this prints it on demand, to this terminal only.
import type { Command } from 'commander';
import { TallyError } from '../../core/errors';
import { agentFor } from '../call';
import { configFor, globals } from '../context';
import { print, printJson } from '../output';

export function registerDashboard(program: Command): void {
  program
    .command('dashboard')
    .description("print the running agent's dashboard link (it carries the access token: do not paste it into logs or chats)")
    .action(async (_o: unknown, cmd: Command) => {
      const g = globals(cmd);
      const config = configFor(g);
      const agent = await agentFor(config);
      if (!agent) throw new TallyError('unavailable', `no agent is running on ${config.db}: start one with \`tally agent\``);
      const url = `${agent.url}/?token=${agent.token}`;
      if (g.json) return printJson({ url });
      print(url);
    });
}
