// Checking a cron expression without loading node-cron for the schedules Tally ships. Every
// command parses the config, whose default schedules are checked with it; only the agent runs a
// schedule. Loading node-cron (and node:crypto with it) cost each `tally` command ~5 ms of its
// start, so the defaults are known good (test/config/cron.test.ts checks each with node-cron) and
// node-cron is required only for an expression a user wrote.
import { createRequire } from 'node:module';
import { once } from '../core/objects';

/** The default schedules of the collectors and the maintenance jobs. */
export const DEFAULT_CRONS: ReadonlySet<string> = new Set(['* * * * *', '15 0 * * *', '0 * * * *', '0 3 1 * *', '30 4 * * *', '0 2 * * *']);

/** The part of node-cron Tally uses. */
export interface NodeCron {
  validate(expression: string): boolean;
  createTask(
    expression: string,
    fn: () => unknown,
    options?: { name?: string; noOverlap?: boolean },
  ): { start(): void | Promise<void>; destroy(): void | Promise<void>; getNextRuns(n: number): Date[] };
}

/** node-cron, loaded on first use. */
export const nodeCron = once(() => createRequire(import.meta.url)('node-cron') as NodeCron);

export function isCronExpression(expression: string): boolean {
  return DEFAULT_CRONS.has(expression) || nodeCron().validate(expression);
}
