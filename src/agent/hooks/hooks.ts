// Alert hooks inside the agent: every new alert goes to each configured hook that hears its
// level, once. Attempts are logged (hook_deliveries); a failed one is retried with exponential
// backoff and jitter (core/sync/backoff) up to maxAttempts; a restarted agent resumes the alerts
// of the last day that no hook has settled. Receivers get a stable Tally-Delivery id per alert,
// so a retry after a lost answer is recognisable.
import { backoffDelay } from '../../core/sync/backoff';
import type { AgentContext } from '../../handlers/context';
import { formatAlertLine, rowToAlert, type Alert } from '../../quotas/alerts';
import { HookDeliveryRepo, type DeliveryAttempt } from '../../storage/repos/hooks';
import { listServices } from '../../storage/repos/services';
import { defaultHooksConfig, type CommandHookConfig, type HooksConfig, type WebhookConfig } from './config';
import { postWebhook, runCommandHook, type AttemptResult } from './deliver';

type Hook = { kind: 'webhook'; config: WebhookConfig } | { kind: 'command'; config: CommandHookConfig };

export interface AlertHooks {
  /** Resolves when nothing is in flight or waiting for a retry (tests, shutdown). */
  idle(): Promise<void>;
  recent(limit?: number): DeliveryAttempt[];
  stop(): Promise<void>;
}

export interface HookOptions {
  readonly log?: (line: Record<string, unknown>) => void;
  readonly random?: () => number;
}

const RESUME_WINDOW_MS = 24 * 3600_000;
const SWEEP_MS = 60_000;

const keyOf = (a: Alert, hook: Hook) => `${a.id}\u0000${hook.config.name}`;

/** The JSON every hook receives. */
export function alertPayload(a: Alert): string {
  return JSON.stringify({ type: 'alert', delivery: String(a.id), text: a.message, log_line: formatAlertLine(a), alert: a });
}

export function hooksOf(config: HooksConfig): Hook[] {
  return [
    ...config.webhooks.map((c) => ({ kind: 'webhook' as const, config: c })),
    ...config.commands.map((c) => ({ kind: 'command' as const, config: c })),
  ];
}

export function startAlertHooks(ctx: AgentContext, o: HookOptions = {}): AlertHooks {
  const config = ctx.config.hooks ?? defaultHooksConfig();
  const hooks = hooksOf(config);
  const repo = new HookDeliveryRepo(ctx.tdb.sqlite);
  const log = o.log ?? (() => undefined);
  const timers = new Set<NodeJS.Timeout>();
  const inFlight = new Set<Promise<void>>();
  // (alert, hook) pairs being delivered or waiting for a retry: an alert raised twice is sent once.
  const active = new Set<string>();
  let stopped = false;

  const attempt = async (a: Alert, hook: Hook, n: number): Promise<void> => {
    const body = alertPayload(a);
    const timeoutMs = config.timeoutSeconds * 1000;
    const r: AttemptResult =
      hook.kind === 'webhook'
        ? await postWebhook(hook.config, { body, deliveryId: String(a.id), event: `alert.${a.level}`, now: ctx.now(), timeoutMs })
        : await runCommandHook(hook.config, body, timeoutMs);
    const last = !r.ok && n >= config.maxAttempts;
    repo.log(
      {
        alertId: a.id,
        hook: hook.config.name,
        attempt: n,
        outcome: r.ok ? 'delivered' : last ? 'gave_up' : 'failed',
        status: r.status,
        error: r.error,
      },
      ctx.now(),
    );
    if (r.ok || last) active.delete(keyOf(a, hook));
    if (r.ok) return;
    log({ level: 'warn', msg: 'alert hook failed', hook: hook.config.name, alert: a.id, attempt: n, error: r.error, giveUp: last });
    if (!last && !stopped)
      later(a, hook, n + 1, backoffDelay(n - 1, { baseMs: config.retryBaseSeconds * 1000, maxMs: 5 * 60_000 }, o.random));
  };

  const run = (a: Alert, hook: Hook, n: number) => {
    const p = attempt(a, hook, n)
      .catch((err: Error) => log({ level: 'error', msg: 'alert hook crashed', hook: hook.config.name, error: err.message }))
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  const later = (a: Alert, hook: Hook, n: number, delayMs: number) => {
    const t = setTimeout(() => {
      timers.delete(t);
      if (!stopped) run(a, hook, n);
    }, delayMs);
    timers.add(t);
  };

  const hears = (hook: Hook, a: Alert) => !hook.config.levels || (hook.config.levels as readonly string[]).includes(a.level);

  const deliver = (a: Alert) => {
    for (const hook of hooks) {
      if (!hears(hook, a)) continue;
      // Quota alerts have a durable id: skip what is settled (a resumed alert raised again).
      if (a.id > 0 && (active.has(keyOf(a, hook)) || repo.settled(a.id, hook.config.name))) continue;
      if (a.id > 0) active.add(keyOf(a, hook));
      run(a, hook, (a.id > 0 ? repo.attempts(a.id, hook.config.name) : 0) + 1);
    }
  };

  const off = hooks.length > 0 ? ctx.events.on('alerts.new', deliver) : () => undefined;
  // At start, and then every minute: alerts another process logged (a `tally alerts check` run
  // beside the agent) or that a restart interrupted are picked up from the alert log.
  const sweep = hooks.length > 0 ? setInterval(() => void resume().catch(() => undefined), SWEEP_MS) : null;
  sweep?.unref();
  if (hooks.length > 0) void resume().catch((err: Error) => log({ level: 'error', msg: 'alert hooks resume failed', error: err.message }));

  async function resume(): Promise<void> {
    const since = ctx.now() - RESUME_WINDOW_MS;
    if (stopped) return;
    const ids = new Set(hooks.flatMap((h) => repo.unsettled(h.config.name, since)));
    if (ids.size === 0) return;
    const services = new Map((await listServices(ctx.tdb.db)).map((s) => [s.name, s]));
    const rows = await ctx.tdb.db
      .selectFrom('alert_log')
      .selectAll()
      .where('id', 'in', [...ids])
      .execute();
    for (const row of rows) deliver(rowToAlert(row, services));
  }

  return {
    async idle() {
      while (inFlight.size > 0 || timers.size > 0) {
        await Promise.race([...inFlight, new Promise((r) => setTimeout(r, 20))]);
      }
    },
    recent: (limit) => repo.recent(limit),
    async stop() {
      stopped = true;
      off();
      if (sweep) clearInterval(sweep);
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.allSettled([...inFlight]);
    },
  };
}
