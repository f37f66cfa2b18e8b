// tally keys create|list|revoke: scoped API keys. The key is printed once, at creation; the
// agent keeps only its hash.
import { Command } from 'commander';
import { invalid } from '../../core/errors';
import { agentFor, callHandler } from '../call';
import { configFor, globals } from '../context';
import { formatTable, print, printJson } from '../output';

/** "--rate 100/min" or "--rate 100". */
export function parseRate(text: string): number {
  const m = /^\s*(\d{1,7})\s*(?:\/\s*min)?\s*$/.exec(text);
  if (!m || Number(m[1]) < 1) throw invalid('rate', `"${text}" must be requests per minute, e.g. 100/min`);
  return Number(m[1]);
}

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('scoped API keys: ingest (write own usage) or read (own reports and events)');

  keys
    .command('create')
    .description('create a key for one customer; the key is shown once')
    .option('--scope <scope>', 'ingest | read')
    .option('--name <text>', 'what the key is for')
    .option('--rate <n/min>', 'requests per minute (default: http.rateLimitPerMinute, env RATE_LIMIT_PER_MINUTE)')
    .action(async (o: { scope?: string; name?: string; rate?: string }, cmd: Command) => {
      const g = globals(cmd);
      if (!g.customer) throw invalid('customer', 'is required: --customer <id>');
      if (o.scope !== 'ingest' && o.scope !== 'read')
        throw invalid(
          'scope',
          o.scope === undefined ? 'is required: --scope ingest or --scope read' : `"${o.scope}" must be ingest or read`,
        );
      const config = configFor(g);
      const k = await callHandler(config, 'keys.create', {
        customer: g.customer,
        scope: o.scope,
        ...(o.name !== undefined && { name: o.name }),
        ...(o.rate !== undefined && { rate: parseRate(o.rate) }),
      });
      if (g.json) return printJson({ id: k.id, key: k.key, customer: k.customer, scope: k.scope, rate: k.rate });
      print(`created ${k.scope} key ${k.id} for customer ${k.customer}${k.rate ? ` (${k.rate}/min)` : ''}`);
      print(`key: ${k.key}`);
      print('store it now: it is not shown again (send it as "Authorization: Bearer KEY" or "X-API-Key: KEY")');
      if (k.scope === 'read') {
        // The running agent's address, or the configured one for when it starts.
        const agent = await agentFor(config);
        const url = agent?.url ?? `http://${config.http.host}:${config.http.port}`;
        print(`dashboard for ${k.customer}: ${url}/?key=${k.key}${agent ? '' : ' (once `tally agent` runs)'}`);
      }
    });

  keys
    .command('list')
    .description('every key (never the key itself)')
    .option('--all', 'include revoked keys')
    .action(async (o: { all?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const rows = await callHandler(configFor(g), 'keys.list', {
        ...(g.customer !== undefined && { customer: g.customer }),
        ...(!o.all && { revoked: false }),
      });
      if (g.json) return printJson(rows);
      if (rows.length === 0) return print('no keys');
      print(
        formatTable(
          ['id', 'customer', 'scope', 'name', 'rate/min', 'created', 'revoked'],
          rows.map((k) => [k.id, k.customer, k.scope, k.name ?? '', k.rate ?? 'default', k.createdAt, k.revokedAt ?? '']),
        ),
      );
    });

  keys
    .command('revoke')
    .argument('<key-id>', 'the id from keys list (key_…)')
    .description('revoke a key: it answers 401 from now on')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const g = globals(cmd);
      const k = await callHandler(configFor(g), 'keys.revoke', { id });
      return g.json ? printJson(k) : print(`revoked ${k.id} (${k.scope} key of ${k.customer}) at ${k.revokedAt}`);
    });
}
