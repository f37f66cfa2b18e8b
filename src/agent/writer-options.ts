// The batched writer's options from the config, shared by the agent and by CLI commands that
// write in-process: batch size and timeout, the queue bound, and the month closing that runs
// before each flush.
import { closeDueMonths } from '../analytics/closing';
import type { Config } from '../config/config';
import type { TallyDb } from '../storage/open';

export function writerOptions(config: Readonly<Config>) {
  return {
    batchSize: config.writer.batchSize,
    batchTimeoutMs: config.writer.batchTimeoutSeconds * 1000,
    maxQueue: config.writer.maxQueue,
    hostId: config.hostId,
    defaultCustomerId: config.customerId,
    defaultSource: 'cli',
    // A month past its grace period is frozen before a late event for it is stored.
    beforeFlush: (tdb: TallyDb, now: number, earliest: number) =>
      closeDueMonths(tdb.db, { now, graceDays: config.billing.graceDays, currency: config.currency, timezone: config.timezone }, earliest),
  };
}
