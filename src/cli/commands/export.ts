// tally export csv|json|xlsx: raw records of a period, streamed to a file.
import { Command } from 'commander';
import { EXPORT_FORMATS, type ExportFormat } from '../../core/exports/shape';
import { invalid } from '../../core/errors';
import { formatMoney, roundLines } from '../../core/money';
import { exportRecords } from '../../exports/export';
import { parseRange } from '../args';
import { configFor, globals } from '../context';
import { print, printJson } from '../output';
import { progressBar } from './progress';

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('export raw records as CSV (RFC 4180), JSON or XLSX, newest first (default: this month)')
    .argument('<format>', 'csv, json or xlsx')
    .option('--out <file>', 'target file, or a folder ending in / (default name: tally-usage-<from>_<to>.<format> here)')
    .option('--from <date>', 'start (YYYY-MM, YYYY-MM-DD or ISO time; UTC)')
    .option('--to <date>', 'end, inclusive for dates')
    .option('--month <YYYY-MM>', 'a whole month')
    .option('--service <name>', 'one service only')
    .option('--force', 'overwrite an existing file')
    .option('--include-voided', 'also write voided events, with a voided_at column (totals count live events only)')
    .action(
      async (
        format: string,
        o: { out?: string; from?: string; to?: string; month?: string; service?: string; force?: boolean; includeVoided?: boolean },
        cmd: Command,
      ) => {
        const g = globals(cmd);
        if (!EXPORT_FORMATS.includes(format as ExportFormat)) throw invalid('format', `"${format}" must be csv, json or xlsx`);
        const config = configFor(g);
        const bar = progressBar(`export ${format}`, !g.json);
        try {
          const r = await exportRecords({
            dbPath: config.db,
            format: format as ExportFormat,
            out: o.out,
            from: parseRange(o).from,
            to: parseRange(o).to,
            service: o.service,
            customerId: g.customer,
            force: o.force,
            includeVoided: o.includeVoided,
            currency: config.currency,
            now: Date.now(),
            onProgress: (done, total) => bar.update(done, total),
          });
          bar.stop();
          if (g.json) return printJson(r);
          // The one rule: the total shown is the sum of the rounded service lines, as report and the XLSX Summary print it.
          const money = roundLines(
            Object.values(r.summary.services).map((l) => l.cost),
            config.currency,
          );
          print(
            `exported ${r.records} records${r.voidedRecords > 0 ? ` and ${r.voidedRecords} voided (marked, not in the totals)` : ''} (total cost ${formatMoney(money.total, config.currency)}, exact ${r.summary.total_cost}) to ${r.file}`,
          );
        } finally {
          bar.stop();
        }
      },
    );
}
