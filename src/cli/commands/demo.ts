// tally demo --days N: fills the database with realistic usage for every service.
import { Command } from 'commander';
import { demoRecords } from '../../core/demo';
import { hourStart } from '../../core/time';
import { invalid } from '../../core/errors';
import { parseNumberArg } from '../args';
import { configFor, globals, withWriter } from '../context';
import { print, printJson } from '../output';
import { progressBar } from './progress';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('fill the database with realistic demo usage for all six services')
    .option('--days <n>', 'days of history, ending now', '30')
    .option('--seed <n>', 'random seed (same seed, same data)', '42')
    .option('--scale <x>', 'multiplies request volumes', '1')
    .option('--if-empty', 'do nothing when the database already has records')
    .action(async (o: { days: string; seed: string; scale: string; ifEmpty?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const days = parseNumberArg('days', o.days, { min: 1 });
      if (days > 1800) throw invalid('days', 'at most 1800');
      const seed = parseNumberArg('seed', o.seed, { integer: true });
      const scale = parseNumberArg('scale', o.scale, { min: 0 });
      const config = configFor(g);
      const result = await withWriter({ ...config, writer: { ...config.writer, batchSize: 10_000 } }, async (writer, tdb) => {
        if (o.ifEmpty && tdb.sqlite.prepare('SELECT 1 FROM usage_records LIMIT 1').get()) return { records: 0, skipped: true };
        const hours = Math.round(days * 24);
        const end = hourStart(Date.now());
        const bar = progressBar('demo (hours)', !g.json);
        let records = 0;
        let lastHour = -1;
        const start = end - hours * 3_600_000;
        for (const rec of demoRecords({ days, end, seed, scale, customerId: config.customerId })) {
          writer.add({ ...rec, source: 'demo' });
          records++;
          if (records % 10_000 === 0) {
            await writer.flush();
            const h = Math.floor(((rec.recordedAt as number) - start) / 3_600_000);
            if (h !== lastHour) bar.update((lastHour = h), hours);
          }
        }
        await writer.flush();
        bar.update(hours, hours);
        bar.stop();
        return { records, skipped: false };
      });
      if (g.json) return printJson(result);
      print(
        result.skipped
          ? `the database already has records: demo data not added (${config.db})`
          : `added ${result.records} demo records over ${days} days to ${config.db}`,
      );
    });
}
