// tally credits grant|list|balance|void|check: prepaid credits, through the same handlers as
// HTTP and IPC (callHandler: reads here, changes through the running agent or under the lock).
import { Command } from 'commander';
import type { CreditsReplies, creditsArgs } from '../../core/api/credits';
import { invalid } from '../../core/errors';
import { callHandler } from '../call';
import { parseNumberArg } from '../args';
import { configFor, globals, type GlobalOptions } from '../context';
import { formatTable, print, printJson } from '../output';

type Call = keyof typeof creditsArgs;

function call<K extends Call>(g: GlobalOptions, name: K, args: unknown): Promise<CreditsReplies[K]> {
  return callHandler(configFor(g), name, args as never) as Promise<CreditsReplies[K]>;
}

function customerOf(g: GlobalOptions): string {
  if (!g.customer) throw invalid('customer', 'is required: --customer <id>');
  return g.customer;
}

export function registerCredits(program: Command): void {
  const credits = program.command('credits').description('prepaid credits: grants drawn down by statements, balances and balance alerts');

  credits
    .command('grant')
    .description('grant prepaid credit to a customer (--customer): statements draw it before anything is due')
    .requiredOption('--amount <decimal>', 'amount in the currency, e.g. 50 or 12.50')
    .option('--expires <date>', 'the grant covers months that start before this date (YYYY-MM-DD or ISO 8601)')
    .option('--from <date>', 'the grant covers months that end after this date (default: now)')
    .option('--priority <n>', '0–100, lower is drawn first (default 50)')
    .option('--note <text>', 'why the credit was granted')
    .action(async (o: { amount: string; expires?: string; from?: string; priority?: string; note?: string }, cmd: Command) => {
      const g = globals(cmd);
      const grant = await call(g, 'credits.grant', {
        customerId: customerOf(g),
        amount: o.amount,
        ...(o.priority !== undefined && { priority: parseNumberArg('priority', o.priority, { integer: true, min: 0 }) }),
        ...(o.from !== undefined && { effectiveAt: o.from }),
        ...(o.expires !== undefined && { expiresAt: o.expires }),
        ...(o.note !== undefined && { note: o.note }),
      });
      if (g.json) return printJson(grant);
      print(
        `granted ${grant.amount} to ${grant.customerId} (grant ${grant.id}, priority ${grant.priority}${grant.expiresAt ? `, expires ${grant.expiresAt}` : ''})`,
      );
    });

  credits
    .command('list')
    .description('credit grants (all customers unless --customer)')
    .action(async (_o, cmd: Command) => {
      const g = globals(cmd);
      const list = await call(g, 'credits.list', g.customer ? { customerId: g.customer } : {});
      if (g.json) return printJson(list);
      if (list.length === 0) return print('no credit grants: add one with `tally credits grant --customer ID --amount 50`');
      print(
        formatTable(
          ['id', 'customer', 'amount', 'priority', 'from', 'expires', 'voided', 'note'],
          list.map((c) => [
            c.id,
            c.customerId,
            c.amount,
            c.priority,
            c.effectiveAt,
            c.expiresAt ?? 'never',
            c.voidedAt ? `${c.voidedAt} (${c.voidReason})` : '',
            c.note ?? '',
          ]),
        ),
      );
    });

  credits
    .command('balance')
    .description("a customer's (--customer) remaining credit now, this month's usage included")
    .action(async (_o, cmd: Command) => {
      const g = globals(cmd);
      const b = await call(g, 'credits.balance', { customerId: customerOf(g) });
      if (g.json) return printJson(b);
      // Scheduled grants are not drawable this month, so they stand apart from what is left.
      const later = Number(b.scheduled) > 0 ? `; ${b.scheduled} scheduled for later months` : '';
      print(`${b.customerId}: ${b.remaining} left of ${b.granted} granted (${b.used} used)${later}`);
      if (b.grants.length > 0)
        print(
          formatTable(
            ['grant', 'amount', 'used', 'remaining', 'priority', 'from', 'expires', 'status'],
            b.grants.map((x) => [x.id, x.amount, x.used, x.remaining, x.priority, x.effectiveAt, x.expiresAt ?? 'never', x.status]),
          ),
        );
    });

  credits
    .command('void')
    .description('void a grant: it stops covering statements; the row stays with the reason')
    .argument('<id>')
    .requiredOption('--reason <text>', 'why the grant is voided')
    .action(async (id: string, o: { reason: string }, cmd: Command) => {
      const g = globals(cmd);
      const grant = await call(g, 'credits.void', { id: parseNumberArg('id', id, { integer: true, min: 1 }), reason: o.reason });
      if (g.json) return printJson(grant);
      print(`voided grant ${grant.id} of ${grant.customerId} (${grant.amount}): ${grant.voidReason}`);
    });

  credits
    .command('check')
    .description('log balance alerts (default at 25% and 0 left), each once per threshold')
    .option('--at <list>', 'thresholds, e.g. "25%,10%,0"')
    .action(async (o: { at?: string }, cmd: Command) => {
      const g = globals(cmd);
      const r = await call(g, 'credits.check', {
        ...(g.customer && { customerId: g.customer }),
        ...(o.at !== undefined && { thresholds: o.at.split(',').map((t) => t.trim()) }),
      });
      if (g.json) return printJson(r);
      if (r.alerts.length === 0) return print('no new balance alerts');
      for (const a of r.alerts) print(a.message);
    });
}
