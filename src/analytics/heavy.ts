// The reads that scan raw records (percentiles over a year, breakdowns by metadata) and would
// hold the agent's event loop for tenths of a second: in the agent they run on a worker thread
// with its own read-only connection, so ingestion keeps its latency while they are computed.
// Where the worker's bundle is not built (tests on the sources), they run inline.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { TallyError, type ErrorCode } from '../core/errors';
import { IdleWorker } from '../storage/idle-worker';
import type { ReadDb } from '../storage/schema';
import { breakdown, type BreakdownQuery, type BreakdownResult } from './aggregate';
import { usageStats, type StatsQuery, type UsageStats } from './stats';

export interface HeavyReads {
  stats(q: StatsQuery): Promise<UsageStats>;
  breakdown(q: BreakdownQuery): Promise<BreakdownResult>;
  close(): Promise<void>;
}

export const HEAVY_QUERIES = {
  stats: usageStats,
  breakdown,
} as const;
export type HeavyQuery = keyof typeof HEAVY_QUERIES;

export interface WorkerRequest {
  readonly id: number;
  readonly query: HeavyQuery;
  readonly args: unknown;
}
export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly data: unknown }
  | { readonly id: number; readonly ok: false; readonly error: { code: ErrorCode; message: string; field?: string } };

export function inlineReads(db: ReadDb): HeavyReads {
  return { stats: (q) => usageStats(db, q), breakdown: (q) => breakdown(db, q), close: async () => undefined };
}

/** The built worker beside the running bundle (dist/analytics-worker.mjs), if there is one. */
export function builtWorkerFile(): string | null {
  if (process.env.TALLY_READ_WORKER === '0') return null;
  const file = fileURLToPath(new URL('./analytics-worker.mjs', import.meta.url));
  return fs.existsSync(file) ? file : null;
}

/**
 * One worker thread, started on first use and stopped after `idleMs` without a request (its heap
 * and connection are given back; the next request starts it again); requests are answered in the
 * order they finish.
 */
export function workerReads(dbPath: string, workerFile: string, idleMs = 60_000): HeavyReads {
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const failAll = (err: Error) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  const worker = new IdleWorker<WorkerReply>(() => new Worker(workerFile, { workerData: { db: dbPath } }), idleMs, {
    message: (m) => {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.ok) p.resolve(m.data);
      else p.reject(new TallyError(m.error.code, m.error.message, m.error.field === undefined ? {} : { field: m.error.field }));
    },
    lost: (err) =>
      failAll(
        err
          ? new TallyError('internal', `the analytics worker failed: ${err.message}`, { cause: err })
          : new TallyError('unavailable', 'the analytics worker stopped; try again'),
      ),
  });
  const ask = <T>(query: HeavyQuery, args: unknown): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const w = worker.busy();
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      w.ref(); // busy: keep the process up until the answer arrives
      w.postMessage({ id, query, args } satisfies WorkerRequest);
    }).finally(() => {
      if (pending.size === 0) worker.idle();
    });
  return {
    stats: (q) => ask<UsageStats>('stats', q),
    breakdown: (q) => ask<BreakdownResult>('breakdown', q),
    async close() {
      await worker.stop();
      failAll(new TallyError('unavailable', 'the analytics worker stopped; try again'));
    },
  };
}
