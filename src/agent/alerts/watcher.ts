// Quota checks after the writer's flushes: at most one check per interval (default 1 s),
// covering every customer × service the flushes since the last check touched. Each new alert
// is emitted as 'alerts.new' on the event bus (the UI turns it into a notification).
import { checkAlerts, type Alert } from '../../quotas/alerts';
import { balanceAlertsFor } from '../../quotas/balance';
import type { FlushInfo } from '../../storage/writer';
import type { AgentContext } from '../../handlers/context';

export interface AlertWatcher {
  /** Runs a check now for everything touched so far (and waits for one in progress). */
  checkNow(): Promise<Alert[]>;
  stop(): void;
}

export function createAlertWatcher(
  ctx: AgentContext,
  options: { intervalMs?: number; log?: (line: Record<string, unknown>) => void } = {},
): AlertWatcher {
  const interval = options.intervalMs ?? 1000;
  const log = options.log ?? (() => undefined);
  const touched = new Map<string, { customerId: string; service: string }>();
  let last = 0;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<Alert[]> | null = null;
  let stopped = false;

  const run = async (): Promise<Alert[]> => {
    if (running) await running.catch(() => undefined);
    if (touched.size === 0 || stopped) return [];
    const batch = [...touched.values()];
    touched.clear();
    last = Date.now();
    const pending = checkAlerts(ctx.tdb.db, {
      now: ctx.now(),
      thresholds: ctx.config.alerts,
      timezone: ctx.config.timezone,
      touched: batch,
    }).then(async (r) => [
      ...r.alerts,
      // Prepaid credits fall as usage is priced: their balance alerts travel the same way.
      ...(await balanceAlertsFor(
        ctx.tdb.db,
        ctx.now(),
        batch.map((t) => t.customerId),
        ctx.config.credits?.balanceAlerts,
        ctx.config.timezone,
      )),
    ]);
    running = pending;
    try {
      const alerts = await pending;
      for (const a of alerts) ctx.events.emit('alerts.new', a);
      return alerts;
    } catch (err) {
      log({ level: 'error', msg: 'quota check failed', error: (err as Error).message });
      return [];
    } finally {
      running = null;
    }
  };

  const onFlush = (info: FlushInfo) => {
    for (const t of info.touched) touched.set(`${t.customerId}\u0000${t.service}`, t);
    if (timer || stopped) return;
    const wait = Math.max(0, last + interval - Date.now());
    timer = setTimeout(() => {
      timer = null;
      void run();
    }, wait);
    timer.unref();
  };
  ctx.writer.on('flush', onFlush);

  return {
    checkNow: run,
    stop() {
      stopped = true;
      ctx.writer.off('flush', onFlush);
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
