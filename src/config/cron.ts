// Checking a cron expression without loading node-cron for the schedules Tally ships. Every
// command parses the config, whose default schedules are checked with it; only the agent runs a
// schedule. Loading node-cron (and node:crypto with it) cost each `tally` command ~5 ms of its
// start, so the defaults are known good (test/config/cron.test.ts checks each with node-cron) and
// node-cron is required only for an expression a user wrote.
import { createRequire } from 'node:module';

/** The default schedules of the collectors and the maintenance jobs. */
export const DEFAULT_CRONS: ReadonlySet<string> = new Set(['* * * * *', '15 0 * * *', '0 * * * *', '0 3 1 * *', '30 4 * * *', '0 2 * * *']);

let validate: ((expression: string) => boolean) | null = null;

export function isCronExpression(expression: string): boolean {
  if (DEFAULT_CRONS.has(expression)) return true;
  validate ??= (createRequire(import.meta.url)('node-cron') as { validate: (expression: string) => boolean }).validate;
  return validate(expression);
}
