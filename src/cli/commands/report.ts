// tally report: the period's usage and cost per service.
import { Command } from 'commander';
import { invalid } from '../../core/errors';
import { formatReportCsv, formatReportTable } from '../../analytics/usage';
import { formatMoney, formatPercent } from '../../core/money';
import { formatCompact } from '../../core/services';
import { callHandler } from '../call';
import { configFor, globals } from '../context';
import { formatTable, print, printJson } from '../output';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('usage and cost per service for a period (default: this month)')
    .option('--from <date>', 'start (YYYY-MM, YYYY-MM-DD or ISO time; UTC)')
    .option('--to <date>', 'end, inclusive for dates (default: end of this month)')
    .option('--month <YYYY-MM>', 'a whole month')
    .option('--service <name>', 'one service only')
    .option('--format <format>', 'table, json or csv', 'table')
    .option('--detailed', 'add a per-day breakdown')
    .action(
      async (o: { from?: string; to?: string; month?: string; service?: string; format: string; detailed?: boolean }, cmd: Command) => {
        const g = globals(cmd);
        const format = g.json ? 'json' : o.format;
        if (!['table', 'json', 'csv'].includes(format)) throw invalid('format', `"${format}" must be table, json or csv`);
        const config = configFor(g);
        const report = await callHandler(config, 'report.usage', {
          from: o.from,
          to: o.to,
          month: o.month,
          service: o.service,
          customerId: g.customer,
          detailed: o.detailed,
        });
        if (format === 'json') return printJson(report);
        if (format === 'csv') return print(formatReportCsv(report));
        print(formatReportTable(report, config.currency));
        for (const l of report.services) {
          if (l.estimated)
            print(
              `${l.service}: ${formatPercent(l.estimated.share, { decimals: 1 })} of the usage is estimated (${l.estimated.events} gaps billed as a lower bound)`,
            );
        }
        for (const l of report.late) {
          print(
            `late for ${l.month} (closed ${l.closedAt}): ${l.events} events, ${l.cost}; ${l.corrections} corrections: billed as adjustments on the next open statement`,
          );
        }
        if (report.daily) {
          print('\nPer day');
          print(
            formatTable(
              ['day', 'service', 'events', 'usage', 'unit', 'cost'],
              report.daily.map((d) => [d.day, d.service, d.events, formatCompact(d.usage), d.unit, formatMoney(d.cost, config.currency)]),
            ),
          );
        }
      },
    );
}
