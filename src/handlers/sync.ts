// Service layer for sync: targets (tokens go in, never out), status, rejected records, and
// passes on demand. The UI's Settings → Sync screen and the CLI use the same calls.
import type { syncArgs } from '../core/api/sync';
import { invalid } from '../core/errors';
import { targetView } from '../core/sync/targets';
import { SqliteOutbox } from '../sync/store';
import { runningWorker, sharedEngine, statusOf, syncUntilDone } from '../sync/run';
import { allTargets, findTarget, removeTarget, saveTarget } from '../sync/targets';
import type { AgentContext } from './context';
import type { Implementation } from './handlers';

export function syncHandlers(ctx: AgentContext): Implementation<keyof typeof syncArgs> {
  const views = () => allTargets(ctx.config, ctx.tdb.sqlite).map(targetView);
  return {
    'sync.status': () => statusOf(ctx),
    'sync.targets.list': () => views(),
    'sync.targets.set': ({ target }) => {
      saveTarget(ctx.config, ctx.tdb.sqlite, target, ctx.now());
      runningWorker(ctx)?.kick();
      return views();
    },
    'sync.targets.remove': ({ name }) => {
      if (typeof name !== 'string') throw invalid('name', 'is required');
      removeTarget(ctx.config, ctx.tdb.sqlite, name);
      return views();
    },
    'sync.rejected.list': async ({ target, limit }) => {
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 10_000))
        throw invalid('limit', 'must be a whole number from 1 to 10000');
      if (target !== undefined) findTarget(ctx.config, ctx.tdb.sqlite, target);
      return new SqliteOutbox(ctx.tdb.sqlite).rejected(target ?? null, limit ?? 1000);
    },
    'sync.retryRejected': async ({ target }) => {
      if (typeof target !== 'string') throw invalid('target', 'is required');
      return sharedEngine(ctx).retryRejected(findTarget(ctx.config, ctx.tdb.sqlite, target));
    },
    'sync.now': async ({ target, waitSeconds }) => {
      if (waitSeconds !== undefined && (typeof waitSeconds !== 'number' || !(waitSeconds >= 0 && waitSeconds <= 600)))
        throw invalid('waitSeconds', 'must be 0 to 600');
      const targets = target === undefined ? allTargets(ctx.config, ctx.tdb.sqlite) : [findTarget(ctx.config, ctx.tdb.sqlite, target)];
      const engine = sharedEngine(ctx);
      // "Now" means now: clear the backoff first, so a user's click is not told to wait.
      for (const t of targets) await engine.clearBackoff(t.name);
      return syncUntilDone(engine, targets, { deadline: ctx.now() + (waitSeconds ?? 30) * 1000, now: ctx.now });
    },
  };
}
