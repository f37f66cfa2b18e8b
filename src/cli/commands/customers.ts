// tally customers list|add|show|update: tenants, each with this month's events and cost.
import { Command } from 'commander';
import { formatMoney } from '../../core/money';
import { parseJsonObjectArg } from '../args';
import { callHandler } from '../call';
import { configFor, globals } from '../context';
import { formatTable, print, printJson } from '../output';
import type { Customer } from '../../core/api/tenants';

function describe(c: Customer): string {
  const lines = [`customer ${c.id}`, `  name      ${c.displayName ?? '—'}`, `  created   ${c.createdAt}`];
  if (Object.keys(c.metadata).length > 0) lines.push(`  metadata  ${JSON.stringify(c.metadata)}`);
  return lines.join('\n');
}

export function registerCustomers(program: Command): void {
  const customers = program.command('customers').description('customers (tenants): list, add, show, update');

  customers
    .command('list')
    .description("every customer with the month's events and cost (a customer appears on its first event)")
    .option('--month <YYYY-MM>', 'the month the figures are for (default: this month)')
    .action(async (o: { month?: string }, cmd: Command) => {
      const g = globals(cmd);
      const config = configFor(g);
      const rows = await callHandler(config, 'customers.list', o.month === undefined ? {} : { month: o.month });
      if (g.json) return printJson(rows);
      if (rows.length === 0) return print('no customers yet');
      print(
        formatTable(
          ['customer', 'name', 'events', 'services', `cost (${rows[0]!.month})`],
          rows.map((c) => [c.id, c.displayName ?? '', c.events, c.services, formatMoney(c.cost, config.currency)]),
        ),
      );
    });

  customers
    .command('add')
    .argument('<id>', 'customer id (letters, digits and . _ : @ -)')
    .option('--name <text>', 'display name')
    .option('--metadata <json>', 'free metadata as a JSON object')
    .description('add a customer before its first event')
    .action(async (id: string, o: { name?: string; metadata?: string }, cmd: Command) => {
      const g = globals(cmd);
      const metadata = parseJsonObjectArg('metadata', o.metadata);
      const c = await callHandler(configFor(g), 'customers.add', {
        id,
        ...(o.name !== undefined && { displayName: o.name }),
        ...(metadata !== undefined && { metadata }),
      });
      return g.json ? printJson(c) : print(describe(c));
    });

  customers
    .command('show')
    .argument('<id>')
    .description('one customer')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const g = globals(cmd);
      const c = await callHandler(configFor(g), 'customers.get', { id });
      return g.json ? printJson(c) : print(describe(c));
    });

  customers
    .command('update')
    .argument('<id>')
    .option('--name <text>', 'display name ("" clears it)')
    .option('--metadata <json>', 'replaces the metadata with this JSON object')
    .description("change a customer's display name or metadata")
    .action(async (id: string, o: { name?: string; metadata?: string }, cmd: Command) => {
      const g = globals(cmd);
      const metadata = parseJsonObjectArg('metadata', o.metadata);
      const c = await callHandler(configFor(g), 'customers.update', {
        id,
        ...(o.name !== undefined && { displayName: o.name === '' ? null : o.name }),
        ...(metadata !== undefined && { metadata }),
      });
      return g.json ? printJson(c) : print(describe(c));
    });
}
