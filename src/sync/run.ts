// Running the sync worker: one pass over every target until each is delivered, stopped or (for
// --once) out of time, and the agent's background loop, which wakes after each writer flush
// (while an enabled target exists), when a backoff ends, on `sync.now`, and every intervalSeconds.
import type BetterSqlite3 from 'better-sqlite3';
import type { ResolvedTarget } from '../core/sync/targets';
import type { AgentContext } from '../handlers/context';
import type { Config } from '../config/config';
import { correctionsHook } from './corrections';
import { SqliteOutbox } from './store';
import { allTargets } from './targets';
import { SyncEngine, type PassResult, type TargetStatus } from './worker';

export function engineFor(
  config: Readonly<Config>,
  sqlite: BetterSqlite3.Database,
  now: () => number = Date.now,
  log?: (line: Record<string, unknown>) => void,
): SyncEngine {
  return new SyncEngine({
    outbox: new SqliteOutbox(sqlite),
    timeoutMs: config.sync.timeoutSeconds * 1000,
    backoff: { baseMs: config.sync.backoff.baseSeconds * 1000, maxMs: config.sync.backoff.maxSeconds * 1000 },
    now,
    corrections: correctionsHook(sqlite, config.sync.timeoutSeconds * 1000, now),
    ...(log ? { log } : {}),
  });
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const onAbort = () => (clearTimeout(t), resolve());
    // The timer removes the listener: one signal lives through many backoffs (MaxListenersExceededWarning).
    const t = setTimeout(() => (signal?.removeEventListener('abort', onAbort), resolve()), Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Delivers everything pending to every enabled target, waiting through backoffs, until each is
 * idle or stopped, or the deadline passes. `tally sync --once` and `sync.now` use it.
 */
export async function syncUntilDone(
  engine: SyncEngine,
  targets: readonly ResolvedTarget[],
  options: { deadline?: number; now?: () => number; signal?: AbortSignal; onPass?: (r: PassResult) => void } = {},
): Promise<PassResult[]> {
  const now = options.now ?? Date.now;
  const last = new Map<string, PassResult>();
  let todo = targets.filter((t) => t.enabled);
  while (todo.length > 0 && !options.signal?.aborted) {
    const results = await Promise.all(todo.map((t) => engine.syncTarget(t)));
    for (const r of results) {
      const prev = last.get(r.target);
      last.set(r.target, prev ? { ...r, delivered: prev.delivered + r.delivered, rejected: prev.rejected + r.rejected } : r);
      options.onPass?.(r);
    }
    todo = todo.filter((_, i) => results[i]!.status === 'waiting');
    if (todo.length === 0) break;
    const wake = Math.min(...results.filter((r) => r.status === 'waiting').map((r) => r.until ?? now()));
    if (options.deadline !== undefined && wake > options.deadline) break;
    await sleep(wake - now(), options.signal);
  }
  return targets.map((t) => last.get(t.name) ?? { target: t.name, status: t.enabled ? 'idle' : 'disabled', delivered: 0, rejected: 0 });
}

export interface SyncWorker {
  /** Runs a pass soon (after a settings change, or `sync.now`). */
  kick(): void;
  stop(): Promise<void>;
}

const workers = new WeakMap<AgentContext, { worker: SyncWorker; engine: SyncEngine }>();

/** The engine the agent's handlers share with its background worker (one pass per target at a time). */
export function sharedEngine(ctx: AgentContext): SyncEngine {
  const running = workers.get(ctx);
  if (running) return running.engine;
  return engineFor(ctx.config, ctx.tdb.sqlite, ctx.now);
}

export function runningWorker(ctx: AgentContext): SyncWorker | null {
  return workers.get(ctx)?.worker ?? null;
}

export async function statusOf(ctx: AgentContext, engine: SyncEngine = sharedEngine(ctx)): Promise<TargetStatus[]> {
  return Promise.all(allTargets(ctx.config, ctx.tdb.sqlite).map((t) => engine.status(t)));
}

/** The agent's background sync loop. Call once per agent; `stop()` lets the current request finish. */
export function startSyncWorker(ctx: AgentContext, log: (line: Record<string, unknown>) => void = () => undefined): SyncWorker {
  const engine = engineFor(ctx.config, ctx.tdb.sqlite, ctx.now, log);
  const intervalMs = ctx.config.sync.intervalSeconds * 1000;
  let stopped = false;
  let wake: AbortController = new AbortController();
  // A kick during a pass must not be lost: the loop checks `dirty` before it sleeps.
  let dirty = false;
  const kick = () => {
    dirty = true;
    wake.abort();
  };
  // Whether the last pass found an enabled target. Without one a flush does not wake the loop
  // (under load that was a pass per commit for nothing); a target added through the handlers
  // kicks the loop itself, and the interval re-reads the targets anyway.
  let anyTarget = true;
  const onFlush = () => {
    if (anyTarget) kick();
  };
  ctx.writer.on('flush', onFlush);

  const loop = (async () => {
    while (!stopped) {
      wake = new AbortController();
      dirty = false;
      let next = ctx.now() + intervalMs;
      try {
        const targets = allTargets(ctx.config, ctx.tdb.sqlite);
        anyTarget = targets.some((t) => t.enabled);
        const results = await Promise.all(targets.map((t) => engine.syncTarget(t)));
        for (const r of results) if (r.status === 'waiting' && r.until !== undefined) next = Math.min(next, r.until);
        if (results.some((r) => r.delivered > 0 || r.rejected > 0 || r.status !== 'idle')) {
          ctx.events.emit('sync.status', {
            targets: await Promise.all(targets.map((t) => engine.status(t))),
            at: new Date(ctx.now()).toISOString(),
          });
        }
      } catch (err) {
        log({ level: 'error', msg: 'sync pass failed', error: (err as Error).message });
      }
      if (stopped) break;
      if (!dirty) await sleep(next - ctx.now(), wake.signal);
    }
  })();

  const worker: SyncWorker = {
    kick,
    async stop() {
      stopped = true;
      ctx.writer.off('flush', onFlush);
      kick();
      await loop;
      workers.delete(ctx);
    },
  };
  workers.set(ctx, { worker, engine });
  return worker;
}
