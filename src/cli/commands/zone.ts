// tally zone show|set|report: time zones. The installation's zone is the config's `timezone`
// (TALLY_TIMEZONE); `zone set` gives a customer its own. `zone report` shows usage per local
// day, ISO week or month, cut at the zone's real midnights (23- and 25-hour days included).
import { Command } from 'commander';
import { invalid } from '../../core/errors';
import { callHandler } from '../call';
import { configFor, globals } from '../context';
import { formatTable, print, printJson } from '../output';

const GRANULARITIES = ['daily', 'weekly', 'monthly'] as const;

export function registerZone(program: Command): void {
  const zone = program
    .command('zone')
    .description('time zones: the installation’s and each customer’s; usage per local day, week or month');

  zone
    .command('show')
    .description('the zone that applies (to --customer, else the installation)')
    .action(async (_o, cmd: Command) => {
      const g = globals(cmd);
      const z = await callHandler(configFor(g), 'zones.get', g.customer ? { customerId: g.customer } : {});
      if (g.json) return printJson(z);
      print(`${z.customerId ?? 'installation'}: ${z.timezone} (${z.source})`);
    });

  zone
    .command('set')
    .description('give a customer (--customer) its own IANA zone, e.g. Asia/Kolkata; --clear to follow the installation')
    .argument('[timezone]')
    .option('--clear', 'remove the customer’s own zone')
    .action(async (timezone: string | undefined, o: { clear?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      if (!g.customer) throw invalid('customer', 'is required: --customer <id> (the installation’s zone is the config’s timezone)');
      if ((timezone === undefined) === !o.clear) throw invalid('timezone', 'give a zone, or --clear');
      const z = await callHandler(configFor(g), 'zones.set', { customerId: g.customer, timezone: o.clear ? null : timezone! });
      if (g.json) return printJson(z);
      print(`${z.customerId}: ${z.timezone} (${z.source})`);
    });

  zone
    .command('report')
    .description('usage per local day, ISO week or month in the zone (default: this month)')
    .argument('<granularity>', 'daily, weekly or monthly')
    .option('--month <YYYY-MM>', 'a local month')
    .option('--from <date>', 'local date (YYYY-MM-DD) or ISO time')
    .option('--to <date>', 'local date (inclusive) or ISO time (exclusive)')
    .option('--service <name>')
    .option('--tz <zone>', 'an IANA zone instead of the customer’s or the installation’s')
    .action(async (granularity: string, o: { month?: string; from?: string; to?: string; service?: string; tz?: string }, cmd: Command) => {
      const g = globals(cmd);
      if (!GRANULARITIES.includes(granularity as never)) throw invalid('granularity', `"${granularity}" must be daily, weekly or monthly`);
      const r = await callHandler(configFor(g), 'report.zoned', {
        granularity: granularity as (typeof GRANULARITIES)[number],
        ...(o.month !== undefined && { month: o.month }),
        ...(o.from !== undefined && { from: o.from }),
        ...(o.to !== undefined && { to: o.to }),
        ...(o.service !== undefined && { service: o.service }),
        ...(o.tz !== undefined && { timezone: o.tz }),
        ...(g.customer && { customerId: g.customer }),
      });
      if (g.json) return printJson(r);
      print(`${r.timezone} (${r.source}) ${r.from} → ${r.to}`);
      print(
        formatTable(
          ['period', 'hours', 'service', 'events', 'usage', 'unit', 'cost'],
          r.rows.map((x) => [x.period, x.hours, x.service, x.events, x.usage, x.unit, x.cost]),
        ),
      );
    });
}
