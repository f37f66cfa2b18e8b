// What a collector is: a name, a schedule, and one `collect` step that turns the previous
// persisted state and fresh readings into records plus the next state. The runner (runner.ts)
// owns ids, persistence, logging and metrics, so a collector stays a small I/O shell around
// its pure parser and arithmetic.
import type { RecordInput } from '../core/records';

export type CollectorName = 'storage' | 'bandwidth' | 'compute';

/** Something worth a log line (a wrap, a reset, a gap, an unreadable entry). */
export interface CollectorNote {
  readonly level: 'info' | 'warn';
  readonly msg: string;
  readonly fields?: Record<string, unknown>;
}

export interface CollectResult {
  readonly records: readonly RecordInput[];
  /** key → JSON value; replaces the collector's persisted state (keys not returned are removed). */
  readonly state: Readonly<Record<string, unknown>>;
  readonly notes: readonly CollectorNote[];
  /** Entries that could not be read (storage); counted in a metric. */
  readonly unreadable?: number;
  /** Deltas discarded as implausible; counted in a metric. */
  readonly discarded?: number;
}

export interface Collector {
  readonly name: CollectorName;
  readonly schedule: string;
  /** `signal` aborts a long run (a storage walk) when the agent stops. */
  collect(previous: Readonly<Record<string, unknown>>, signal?: AbortSignal): Promise<CollectResult>;
}

/** Where the clocks come from; tests pass fixed ones. */
export interface Clocks {
  /** CLOCK_MONOTONIC in ms (system-wide since boot on Linux and macOS; excludes suspend). */
  readonly monoMs: () => number;
  readonly wallMs: () => number;
}

export const systemClocks: Clocks = {
  monoMs: () => Number(process.hrtime.bigint() / 1000n) / 1000,
  wallMs: () => Date.now(),
};
