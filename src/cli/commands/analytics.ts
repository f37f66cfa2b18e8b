// tally aggregate | stats | trends | peaks | projection | breakdown, and the registration of
// the other analytics groups (quota, alerts, statement, export, archive, maintenance).
import { Command } from 'commander';
import { GRANULARITIES, type Granularity } from '../../analytics/aggregate';
import { invalid } from '../../core/errors';
import { formatMoney, formatPercent, roundingNote, roundLines } from '../../core/money';
import { formatCompact } from '../../core/services';
import { parseNumberArg } from '../args';
import { callHandler } from '../call';
import { configFor, globals } from '../context';
import { formatTable, print, printJson } from '../output';
import { registerArchive } from './archive';
import { registerExport } from './export';
import { registerQuota } from './quota';
import { registerStatement } from './statement';

export function registerAnalytics(program: Command): void {
  registerAggregate(program);
  registerStats(program);
  registerQuota(program);
  registerStatement(program);
  registerExport(program);
  registerArchive(program);
}

const num = (n: number | null) => (n === null ? '—' : formatCompact(n));
// One rule for percentages (core/money.ts): truncated toward zero at the digit shown.
const pct = (n: number | null) => (n === null ? '—' : formatPercent(n / 100, { decimals: 1, sign: true }));

interface WindowOpts {
  days?: string;
  from?: string;
  to?: string;
  month?: string;
}

function windowArgs(o: WindowOpts) {
  return {
    from: o.from,
    to: o.to,
    month: o.month,
    days: o.days === undefined ? undefined : parseNumberArg('days', o.days, { integer: true, min: 1 }),
  };
}

function withWindow(cmd: Command, defaultDays: number): Command {
  return cmd
    .option('--days <n>', `the last N days (default ${defaultDays})`)
    .option('--from <date>', 'start (YYYY-MM, YYYY-MM-DD or ISO time; UTC)')
    .option('--to <date>', 'end, inclusive for dates')
    .option('--month <YYYY-MM>', 'a whole month');
}

function registerAggregate(program: Command): void {
  program
    .command('aggregate')
    .description('usage per hour, day or month and service, from the rollups (default: this month)')
    .argument('<granularity>', 'hourly, daily, weekly or monthly')
    .option('--from <date>', 'start (YYYY-MM, YYYY-MM-DD or ISO time; UTC)')
    .option('--to <date>', 'end, inclusive for dates')
    .option('--month <YYYY-MM>', 'a whole month')
    .option('--service <name>', 'one service only')
    .option('--format <format>', 'table, json or csv', 'table')
    .action(
      async (granularity: string, o: { from?: string; to?: string; month?: string; service?: string; format: string }, cmd: Command) => {
        const g = globals(cmd);
        if (!GRANULARITIES.includes(granularity as Granularity))
          throw invalid('granularity', `"${granularity}" must be hourly, daily, weekly or monthly`);
        if (!['table', 'json', 'csv'].includes(o.format)) throw invalid('format', `"${o.format}" must be table, json or csv`);
        const format = g.json ? 'json' : o.format;
        const currency = configFor(g).currency;
        const result = await callHandler(configFor(g), 'analytics.aggregate', {
          granularity: granularity as Granularity,
          service: o.service,
          customerId: g.customer,
          from: o.from,
          to: o.to,
          month: o.month,
        });
        if (format === 'json') return printJson(result);
        const header = ['service', 'period', 'event_count', 'total_quantity', 'unit', 'total_cost', 'avg_quantity'];
        if (format === 'csv') {
          const esc = (v: string | number) => (/[",\r\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
          const lines = [
            header.join(','),
            ...result.rows.map((r) =>
              [r.service, r.period, r.event_count, r.total_quantity, r.unit, r.total_cost, r.avg_quantity].map(esc).join(','),
            ),
          ];
          return print(lines.join('\r\n') + '\r\n');
        }
        print(`${granularity} usage ${result.from} → ${result.to}${result.customerId ? ` (${result.customerId})` : ''}`);
        const money = roundLines(
          result.rows.map((r) => r.total_cost),
          currency,
        );
        print(
          formatTable(
            header,
            result.rows.map((r, i) => [
              r.service,
              r.period.slice(0, granularity === 'hourly' ? 16 : 10),
              r.event_count,
              formatCompact(r.total_quantity),
              r.unit,
              formatMoney(money.lines[i]!, currency),
              formatCompact(r.avg_quantity),
            ]),
          ),
        );
        print(`TOTAL  ${result.totals.event_count} events  cost ${formatMoney(money.total, currency)}   (GB = GiB)`);
        if (money.difference !== 0n) print(roundingNote(money, currency));
      },
    );

  program
    .command('breakdown')
    .description('one service broken down by metadata (api: endpoint and method, bandwidth: interface and direction, …)')
    .argument('<service>')
    .option('--by <keys>', "comma-separated metadata keys (default: the service's usual ones)")
    .option('--per-day', 'one row per day and key')
    .option('--from <date>', 'start (default: this month)')
    .option('--to <date>', 'end, inclusive for dates')
    .option('--month <YYYY-MM>', 'a whole month')
    .action(async (service: string, o: { by?: string; perDay?: boolean; from?: string; to?: string; month?: string }, cmd: Command) => {
      const g = globals(cmd);
      const keys = o.by
        ?.split(',')
        .map((k) => k.trim())
        .filter(Boolean);
      const r = await callHandler(configFor(g), 'analytics.breakdown', {
        service,
        keys,
        perDay: o.perDay,
        customerId: g.customer,
        from: o.from,
        to: o.to,
        month: o.month,
      });
      if (g.json) return printJson(r);
      const currency = configFor(g).currency;
      const money = roundLines(
        r.rows.map((row) => row.cost),
        currency,
      );
      print(`${r.service} by ${r.keys.join(', ')}  ${r.from.slice(0, 10)} → ${r.to.slice(0, 10)}`);
      print(
        formatTable(
          [...(o.perDay ? ['day'] : []), ...r.keys, 'events', 'usage', 'unit', 'cost'],
          r.rows.map((row, i) => [
            ...(row.day ? [row.day] : []),
            ...r.keys.map((k) => String(row.values[k] ?? '—')),
            row.events,
            formatCompact(row.usage),
            r.unit,
            formatMoney(money.lines[i]!, currency),
          ]),
        ),
      );
      print(`TOTAL  ${r.totalEvents} events  cost ${formatMoney(money.total, currency)}`);
      if (money.difference !== 0n) print(roundingNote(money, currency));
    });
}

function registerStats(program: Command): void {
  withWindow(
    program
      .command('stats')
      .description('count, total, average, p95 and p99 of one service (default: the last 30 days)')
      .argument('<service>'),
    30,
  ).action(async (service: string, o: WindowOpts, cmd: Command) => {
    const g = globals(cmd);
    const s = await callHandler(configFor(g), 'analytics.stats', { service, customerId: g.customer, ...windowArgs(o) });
    if (g.json) return printJson(s);
    print(`${s.service} ${s.from.slice(0, 16)} → ${s.to.slice(0, 16)} UTC${s.customerId ? ` (${s.customerId})` : ''}`);
    // One row, the seed's columns first (usage_get_stats), then Tally's.
    print(
      formatTable(
        [
          'service_name',
          'total_events',
          'total_quantity',
          'avg_quantity',
          'p95_quantity',
          'p99_quantity',
          'min',
          'max',
          'unit',
          'total_cost',
        ],
        [
          [
            s.service,
            s.totalEvents,
            num(s.totalQuantity),
            num(s.average),
            num(s.p95),
            num(s.p99),
            num(s.min),
            num(s.max),
            s.unit,
            formatMoney(s.totalCost, configFor(g).currency),
          ],
        ],
      ),
    );
    print(
      'p95/p99: nearest rank over the raw records (the smallest quantity with at least 95 % / 99 % of records at or below it). GB = GiB.',
    );
    if (s.note) print(`note: ${s.note}`);
  });

  withWindow(
    program
      .command('trends')
      .description('daily totals with the previous day and the change (default: the last 14 days)')
      .argument('[service]'),
    14,
  ).action(async (service: string | undefined, o: WindowOpts, cmd: Command) => {
    const g = globals(cmd);
    const t = await callHandler(configFor(g), 'analytics.trends', { service, customerId: g.customer, ...windowArgs(o) });
    if (g.json) return printJson(t);
    print(
      formatTable(
        ['day', 'service', 'events', 'usage', 'unit', 'previous', 'change', 'cost'],
        t.rows.map((r) => [
          r.partial ? `${r.day}*` : r.day,
          r.service,
          r.events,
          formatCompact(r.usage),
          r.unit,
          num(r.previous),
          pct(r.changePercent),
          formatMoney(r.cost, configFor(g).currency),
        ]),
      ),
    );
    const partial = t.rows.find((r) => r.partial);
    if (partial)
      print(`* ${partial.day} so far; its previous and change compare the same part of both days (to ${partial.comparedTo} UTC)`);
  });

  withWindow(
    program
      .command('peaks')
      .description('the busiest hours or days of a service (default: the last 30 days)')
      .argument('<service>')
      .option('--by <bucket>', 'hour or day', 'hour')
      .option('--top <n>', 'how many', '10'),
    30,
  ).action(async (service: string, o: WindowOpts & { by: string; top: string }, cmd: Command) => {
    const g = globals(cmd);
    if (o.by !== 'hour' && o.by !== 'day') throw invalid('by', `"${o.by}" must be hour or day`);
    const top = parseNumberArg('top', o.top, { integer: true, min: 1 });
    const p = await callHandler(configFor(g), 'analytics.peaks', {
      service,
      by: o.by as 'hour' | 'day',
      top,
      customerId: g.customer,
      ...windowArgs(o),
    });
    if (g.json) return printJson(p);
    print(`top ${top} ${o.by}s of ${p.service}, ${p.from.slice(0, 10)} → ${p.to.slice(0, 10)} (UTC)`);
    print(
      formatTable(
        ['rank', o.by, 'events', 'usage', 'unit', 'cost'],
        p.rows.map((r) => [
          r.rank,
          r.start.slice(0, o.by === 'hour' ? 16 : 10),
          r.events,
          formatCompact(r.usage),
          r.unit,
          formatMoney(r.cost, configFor(g).currency),
        ]),
      ),
    );
  });

  program
    .command('projection')
    .description('expected usage and cost at the end of this month (or day), next to the quota')
    .option('--period <period>', 'month or day', 'month')
    .option('--service <name>', 'one service only')
    .action(async (o: { period: string; service?: string }, cmd: Command) => {
      const g = globals(cmd);
      if (o.period !== 'month' && o.period !== 'day') throw invalid('period', `"${o.period}" must be month or day`);
      const p = await callHandler(configFor(g), 'analytics.projection', {
        period: o.period as 'month' | 'day',
        service: o.service,
        customerId: g.customer,
      });
      if (g.json) return printJson(p);
      print(`projection to the end of the ${p.period} (linear run rate, ${formatPercent(p.lines[0]?.elapsed ?? 0)} elapsed)`);
      print(
        formatTable(
          ['customer', 'service', 'usage', 'projected', 'unit', 'quota', 'now', 'at end', 'cost', 'projected cost'],
          p.lines.map((l) => [
            l.customerId,
            l.service,
            formatCompact(l.usage),
            formatCompact(l.projected),
            l.unit,
            num(l.limit),
            l.percent === null ? '—' : formatPercent(l.percent / 100),
            l.projectedPercent === null ? '—' : formatPercent(l.projectedPercent / 100),
            formatMoney(l.cost, configFor(g).currency),
            formatMoney(l.projectedCost, configFor(g).currency),
          ]),
        ),
      );
    });
}
