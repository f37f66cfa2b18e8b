// Runs one collector: reads its state, collects, and stores records and the new state so that a
// crash at any point neither loses nor double-counts a delta:
//   1. the new state and the records (with their ids fixed in advance) are saved together as
//      "pending" in one transaction;
//   2. the records go through the writer (recordMany resolves after their commit);
//   3. the pending copy is dropped.
// A restart between 1 and 3 re-sends the pending records first; ids make the re-send idempotent
// (the writer ignores an id it already stored). Errors are counted and logged, never thrown.
import { monotonicFactory } from 'ulid';
import { toTallyError } from '../core/errors';
import type { RecordInput } from '../core/records';
import type { Logger } from '../agent/log';
import type { BatchedWriter } from '../storage/writer';
import type { CollectorStateRepo } from './state';
import type { Collector, CollectorName } from './types';

/** Where collector counts go (the agent wires them to /metrics). */
export interface CollectorTelemetry {
  run(collector: CollectorName, durationMs: number, records: number): void;
  error(collector: CollectorName): void;
  unreadable(collector: CollectorName, count: number): void;
  discarded(collector: CollectorName, count: number): void;
}

export interface CollectorStats {
  runs: number;
  errors: number;
  records: number;
  unreadable: number;
  discarded: number;
  lastError: string | null;
}

export interface RunnerDeps {
  readonly writer: Pick<BatchedWriter, 'recordMany'>;
  readonly state: CollectorStateRepo;
  readonly log: Logger;
  readonly now?: () => number;
  readonly newId?: () => string;
  readonly telemetry?: CollectorTelemetry;
}

export type RunOutcome = { ok: true; records: number } | { ok: false; error: string } | { ok: false; skipped: true };

function pendingOf(value: unknown): RecordInput[] {
  return Array.isArray(value)
    ? (value.filter((r) => typeof r === 'object' && r !== null && typeof (r as RecordInput).id === 'string') as RecordInput[])
    : [];
}

export class CollectorRunner {
  readonly stats: CollectorStats = { runs: 0, errors: 0, records: 0, unreadable: 0, discarded: 0, lastError: null };
  private running: Promise<RunOutcome> | null = null;
  private readonly stopping = new AbortController();
  private readonly now: () => number;
  private readonly newId: () => string;

  constructor(
    readonly collector: Collector,
    private readonly deps: RunnerDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.newId = deps.newId ?? monotonicFactory();
  }

  get busy(): boolean {
    return this.running !== null;
  }

  /** One run. A run still going when the next is due is not doubled: the second call is skipped. */
  run(): Promise<RunOutcome> {
    if (this.stopping.signal.aborted) return Promise.resolve({ ok: false, skipped: true });
    if (this.running) {
      this.deps.log.warn('collector still running from the previous schedule: this run is skipped', { collector: this.collector.name });
      return Promise.resolve({ ok: false, skipped: true });
    }
    this.running = this.runNow().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Interrupts the run in progress (the agent is stopping); nothing of it is stored. */
  stop(): void {
    this.stopping.abort(new Error('the agent is stopping'));
  }

  /** Resolves when the run in progress (if any) has finished. */
  async idle(): Promise<void> {
    await this.running;
  }

  private async store(records: readonly RecordInput[]): Promise<'stored' | 'rejected'> {
    if (records.length === 0) return 'stored';
    try {
      await this.deps.writer.recordMany(records);
      return 'stored';
    } catch (err) {
      const e = toTallyError(err);
      // A record the writer refuses will never be accepted: drop it loudly instead of retrying forever.
      if (e.code === 'invalid_input') {
        this.deps.log.error('collector records refused by the writer and dropped', {
          collector: this.collector.name,
          error: e.message,
          records: records.length,
        });
        return 'rejected';
      }
      throw e;
    }
  }

  private async runNow(): Promise<RunOutcome> {
    const name = this.collector.name;
    const { log, state, telemetry } = this.deps;
    const started = performance.now();
    try {
      const previous = state.load(name);
      const leftover = pendingOf(previous.pending);
      delete previous.pending;
      if (leftover.length > 0) {
        // The last run saved these but may not have committed them: send again (idempotent by id).
        await this.store(leftover);
        state.replace(name, previous, this.now());
        log.info('collector re-sent records left pending by an interrupted run', { collector: name, records: leftover.length });
      }
      const result = await this.collector.collect(previous, this.stopping.signal);
      this.stopping.signal.throwIfAborted();
      const records = result.records.map((r) => ({ ...r, id: r.id ?? this.newId() }));
      state.replace(name, records.length > 0 ? { ...result.state, pending: records } : result.state, this.now());
      await this.store(records);
      if (records.length > 0) state.replace(name, result.state, this.now());

      for (const n of result.notes) log[n.level](n.msg, { collector: name, ...n.fields });
      const durationMs = performance.now() - started;
      this.stats.runs++;
      this.stats.records += records.length;
      if (result.unreadable) {
        this.stats.unreadable += result.unreadable;
        telemetry?.unreadable(name, result.unreadable);
      }
      if (result.discarded) {
        this.stats.discarded += result.discarded;
        telemetry?.discarded(name, result.discarded);
      }
      telemetry?.run(name, durationMs, records.length);
      log.debug('collected', { collector: name, records: records.length, ms: Math.round(durationMs * 10) / 10 });
      return { ok: true, records: records.length };
    } catch (err) {
      if (this.stopping.signal.aborted) {
        // State was not replaced: the next start continues from the last complete run.
        log.info('collector run interrupted by shutdown', { collector: name });
        return { ok: false, error: 'interrupted' };
      }
      const e = toTallyError(err);
      this.stats.errors++;
      this.stats.lastError = e.message;
      telemetry?.error(name);
      log.error('collector failed', { collector: name, code: e.code, error: e.message });
      return { ok: false, error: e.message };
    }
  }
}
