// tally report: the period's usage and cost per service.
import { Command } from 'commander';
import { invalid } from '../../core/errors';
import { formatReportCsv, formatReportTable, type DailyLine } from '../../analytics/usage';
import { csvLine } from '../../core/exports/shape';
import { formatMoney, formatNanos, formatPercent, sumNanos, toNanos } from '../../core/money';
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
    .option('--detailed', 'add a per-day breakdown (as CSV: a row per day and service instead of per service)')
    .action(
      async (o: { from?: string; to?: string; month?: string; service?: string; format: string; detailed?: boolean }, cmd: Command) => {
        const g = globals(cmd);
        // Checked even under --json, which wins: a typo must not pass unseen.
        if (!['table', 'json', 'csv'].includes(o.format)) throw invalid('format', `"${o.format}" must be table, json or csv`);
        const format = g.json ? 'json' : o.format;
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
        if (format === 'csv') return print(report.daily ? formatDailyCsv(report.daily) : formatReportCsv(report));
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

/**
 * --detailed as CSV: one rectangular table, a row per day and service (what a spreadsheet filters
 * and pivots), then a TOTAL row that sums those rows exactly.
 */
function formatDailyCsv(daily: readonly DailyLine[]): string {
  const rows = daily.map((d) => csvLine([d.day, d.service, d.events, d.usage, d.unit, d.cost]));
  const events = daily.reduce((n, d) => n + d.events, 0);
  const cost = formatNanos(sumNanos(daily.map((d) => toNanos(d.cost))));
  return csvLine(['day', 'service', 'events', 'usage', 'unit', 'cost']) + rows.join('') + csvLine(['TOTAL', '', events, '', '', cost]);
}
