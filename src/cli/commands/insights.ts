// tally top-users | errors | latency: the second seed's analytics, per customer (--customer) or
// for all, over a period (default: this month).
import { Command } from 'commander';
import { formatMoney, formatPercent } from '../../core/money';
import { formatCompact } from '../../core/services';
import { parseNumberArg } from '../args';
import { callHandler } from '../call';
import { configFor, globals, type GlobalOptions } from '../context';
import { formatTable, print, printJson } from '../output';

interface PeriodOpts {
  from?: string;
  to?: string;
  month?: string;
}

function period(g: GlobalOptions, o: PeriodOpts) {
  return {
    ...(o.from !== undefined && { from: o.from }),
    ...(o.to !== undefined && { to: o.to }),
    ...(o.month !== undefined && { month: o.month }),
    ...(g.customer !== undefined && { customerId: g.customer }),
  };
}

function withPeriod(cmd: Command): Command {
  return cmd
    .option('--from <date>', 'start (default: this month)')
    .option('--to <date>', 'end, inclusive for dates')
    .option('--month <YYYY-MM>', 'a whole month');
}

const rate = (r: number) => formatPercent(r, { decimals: 1 });

export function registerInsights(program: Command): void {
  withPeriod(program.command('top-users'))
    .description('the users who cost (or used) the most, per customer and user')
    .option('--service <name>', 'one service (needed for --by usage)')
    .option('--by <cost|usage>', 'rank by cost or by usage', 'cost')
    .option('--limit <n>', 'how many', '10')
    .action(async (o: PeriodOpts & { service?: string; by: string; limit: string }, cmd: Command) => {
      const g = globals(cmd);
      const config = configFor(g);
      const r = await callHandler(config, 'analytics.topUsers', {
        ...period(g, o),
        ...(o.service !== undefined && { service: o.service }),
        by: o.by as 'cost',
        limit: parseNumberArg('limit', o.limit, { integer: true, min: 1 }),
      });
      if (g.json) return printJson(r);
      print(`top users by ${r.by}${r.service ? ` · ${r.service}` : ''}  ${r.from.slice(0, 10)} → ${r.to.slice(0, 10)}`);
      print(
        formatTable(
          ['customer', 'user', 'events', ...(r.unit ? [r.unit] : []), 'cost'],
          r.users.map((u) => [
            u.customer,
            u.user,
            u.events,
            ...(r.unit ? [formatCompact(u.usage ?? 0)] : []),
            formatMoney(u.cost, config.currency),
          ]),
        ),
      );
    });

  withPeriod(program.command('errors'))
    .description('error rates over time: api by status class, functions by failure flag; the failing endpoints')
    .option('--bucket <hour|day>', 'time buckets', 'day')
    .action(async (o: PeriodOpts & { bucket: string }, cmd: Command) => {
      const g = globals(cmd);
      const r = await callHandler(configFor(g), 'analytics.errors', { ...period(g, o), bucket: o.bucket as 'day' });
      if (g.json) return printJson(r);
      print(
        formatTable(
          ['start', 'service', 'events', 'classes', 'error rate'],
          r.buckets.map((b) => [
            b.start.slice(0, r.bucket === 'day' ? 10 : 16),
            b.service,
            b.events,
            Object.entries(b.classes)
              .map(([k, n]) => `${k} ${n}`)
              .join(', '),
            rate(b.errorRate),
          ]),
        ),
      );
      if (r.failingEndpoints.length === 0) return print('no failing endpoints');
      print('failing endpoints (4xx and 5xx):');
      print(
        formatTable(
          ['endpoint', 'method', 'events', 'errors', 'error rate'],
          r.failingEndpoints.map((f) => [f.endpoint, f.method ?? '', f.events, f.errors, rate(f.errorRate)]),
        ),
      );
    });

  withPeriod(program.command('latency'))
    .description('latency percentiles of duration_ms / latency_ms per service, endpoint or model')
    .option('--service <name>')
    .option('--by <service|endpoint|model>', 'group by', 'service')
    .action(async (o: PeriodOpts & { service?: string; by: string }, cmd: Command) => {
      const g = globals(cmd);
      const r = await callHandler(configFor(g), 'analytics.latency', {
        ...period(g, o),
        ...(o.service !== undefined && { service: o.service }),
        by: o.by as 'service',
      });
      if (g.json) return printJson(r);
      print(
        formatTable(
          ['service', ...(r.by === 'service' ? [] : [r.by]), 'count', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'],
          r.rows.map((x) => [x.service, ...(r.by === 'service' ? [] : [x.group ?? '—']), x.count, x.p50, x.p95, x.p99, x.max]),
        ),
      );
    });
}
