// `tally --help` ends with the seed's function names and the commands that do their job, so a
// user of the shell library finds their way (the README has the same table).
import type { Command } from 'commander';

export const SEED_COMMANDS: ReadonlyArray<readonly [string, string]> = [
  ['usage_get_all / usage_get_service', 'tally report [--service api] --from 2026-01-01 --to 2026-01-31 [--format json|csv] [--detailed]'],
  ['usage_track_api_request', 'tally track api /users GET 200'],
  ['usage_track_storage', 'tally track storage 5368709120 24'],
  ['usage_track_bandwidth', 'tally track bandwidth 524288000 egress'],
  ['usage_track_compute', 'tally track compute 3600 \'{"instance":"t3.medium"}\''],
  ['usage_track_database_query', 'tally track database SELECT 45'],
  ['usage_track_function', 'tally track function sendEmail 120 256'],
  ['billing_record_usage', 'tally record <service> <quantity> [metadata]'],
  ['usage_batch_insert', 'tally import FILE'],
  ['usage_aggregate', 'tally aggregate hourly|daily|weekly|monthly --from … --to …'],
  ['usage_check_alerts', 'tally alerts check [--service storage]'],
  ['usage_get_alerts', 'tally alerts list --days 7'],
  ['usage_export', 'tally export csv|json|xlsx [--out FILE|DIR/] [--month 2026-01] [--service api]'],
  ['usage_get_stats', 'tally stats api --days 30'],
  ['usage_get_trends', 'tally trends api --days 7'],
  ['usage_get_peaks', 'tally peaks api --by hour --top 5'],
  ['usage_archive', 'tally archive --older-than 90d'],
];

export function registerSeedHelp(program: Command): void {
  const width = Math.max(...SEED_COMMANDS.map(([f]) => f.length));
  program.addHelpText(
    'after',
    ['', 'The seed functions as commands:', ...SEED_COMMANDS.map(([f, c]) => `  ${f.padEnd(width)}  ${c}`)].join('\n'),
  );
}
