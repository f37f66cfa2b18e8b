// Alert hooks against real receivers: a webhook server on loopback that answers 500 once, then
// says nothing until the agent gives up waiting, then 200; and a command reading stdin. Each
// alert arrives once (per delivery id), signed, and every attempt is in the delivery log.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startAlertHooks } from '../../../src/agent/hooks/hooks';
import { verifySignature } from '../../../src/agent/hooks/sign';
import { defaults } from '../../../src/config/config';
import { EventBus, type AgentContext } from '../../../src/handlers/context';
import { rowToAlert, type Alert } from '../../../src/quotas/alerts';
import { listServices } from '../../../src/storage/repos/services';
import { tempDir, testDb, testWriter } from '../../helpers/db';

const SECRET = 'whsec_0123456789abcdef';
const stops: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

interface Received {
  delivery: string;
  body: string;
  signed: boolean;
  answered: number | null;
}

/** Answers the n-th request (1-based, over all deliveries) as `plan` says: a status or 'hang'. */
async function receiver(plan: (n: number) => number | 'hang') {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString('utf8')));
    req.on('end', () => {
      const n = received.length + 1;
      const answer = plan(n);
      const signed = verifySignature(SECRET, req.headers['tally-signature'] as string | undefined, body, Date.now());
      received.push({ delivery: String(req.headers['tally-delivery']), body, signed, answered: answer === 'hang' ? null : answer });
      if (answer === 'hang') return; // the agent's timeout ends this attempt
      res.writeHead(answer, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  stops.push(() => new Promise<void>((r) => server.close(() => r())).then(() => undefined));
  stops.push(() => server.closeAllConnections());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
}

async function setup(hooks: Partial<AgentContext['config']['hooks']>) {
  const dir = tempDir('tally-hooks-');
  const tdb = await testDb(path.join(dir, 'tally.db'));
  const writer = await testWriter(tdb);
  stops.push(async () => {
    await writer.close();
    await tdb.close();
  });
  const base = defaults();
  const config = { ...base, db: tdb.path, hooks: { ...base.hooks, maxAttempts: 5, timeoutSeconds: 0.5, retryBaseSeconds: 0.05, ...hooks } };
  const ctx: AgentContext = { config, tdb, writer, events: new EventBus(), now: Date.now };
  return { ctx, dir };
}

/** An alert as the quota check logs it. */
async function logAlert(ctx: AgentContext, service: string, level: Alert['level'], message: string): Promise<Alert> {
  const row = await ctx.tdb.db
    .insertInto('alert_log')
    .values({
      customer_id: 'default',
      service,
      period: 'month',
      period_start: Date.UTC(2026, 10, 1),
      level,
      percent: 78,
      usage_quantity: 78_000,
      limit_quantity: 100_000,
      message,
      created_at: Date.now(),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return rowToAlert(row, new Map((await listServices(ctx.tdb.db)).map((s) => [s.name, s])));
}

describe('alert hooks', () => {
  it('delivers each new alert once to a webhook, signed, through a 500 and a timeout', async () => {
    const rx = await receiver((n) => (n === 1 ? 500 : n === 2 ? 'hang' : 200));
    const { ctx } = await setup({ webhooks: [{ name: 'ops', url: rx.url, secret: SECRET }] });
    const hooks = startAlertHooks(ctx);
    stops.push(() => hooks.stop());

    const a = await logAlert(ctx, 'api', 'warning', 'WARNING: api usage at 78% - 78000/100000');
    const b = await logAlert(ctx, 'database', 'critical', 'CRITICAL: database usage at 92% - 92000/100000');
    ctx.events.emit('alerts.new', a);
    ctx.events.emit('alerts.new', a); // raised twice: still one delivery
    await hooks.idle();
    ctx.events.emit('alerts.new', b);
    await hooks.idle();
    ctx.events.emit('alerts.new', a); // already delivered: nothing more
    await hooks.idle();

    expect(rx.received.every((r) => r.signed)).toBe(true);
    const accepted = rx.received.filter((r) => r.answered === 200).map((r) => r.delivery);
    expect(accepted).toEqual([String(a.id), String(b.id)]);
    expect(rx.received.map((r) => r.answered)).toEqual([500, null, 200, 200]);
    const body = JSON.parse(rx.received[0]!.body);
    expect(body.text).toBe('WARNING: api usage at 78% - 78000/100000');
    expect(body.log_line).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] warning ALERT for api: 78000\/100000 \(78%\)$/);

    const log = hooks.recent().reverse();
    expect(log.map((l) => [l.alertId, l.attempt, l.outcome, l.status])).toEqual([
      [a.id, 1, 'failed', 500],
      [a.id, 2, 'failed', null],
      [a.id, 3, 'delivered', 200],
      [b.id, 1, 'delivered', 200],
    ]);
    expect(log[1]!.error).toMatch(/no answer within 500 ms/);
  });

  it('gives up after maxAttempts, and a restarted agent resumes what was never settled', async () => {
    const rx = await receiver(() => 503);
    const { ctx } = await setup({ maxAttempts: 2, webhooks: [{ name: 'ops', url: rx.url, secret: SECRET }] });
    const hooks = startAlertHooks(ctx);
    const a = await logAlert(ctx, 'api', 'exceeded', 'QUOTA EXCEEDED: api - 105000/100000 (105%)');
    ctx.events.emit('alerts.new', a);
    await hooks.idle();
    expect(hooks.recent().map((l) => l.outcome)).toEqual(['gave_up', 'failed']);
    await hooks.stop();

    // An alert logged while no agent ran (or before it could deliver) goes out at the next start.
    const missed = await logAlert(ctx, 'functions', 'warning', 'WARNING: functions usage at 80% - 80/100');
    const ok = await receiver(() => 200);
    (ctx.config.hooks.webhooks as Array<{ url: string }>)[0]!.url = ok.url;
    const again = startAlertHooks(ctx);
    stops.push(() => again.stop());
    await expect.poll(() => ok.received.length, { timeout: 5000 }).toBe(1);
    await again.idle();
    expect(ok.received.map((r) => r.delivery)).toEqual([String(missed.id)]);
  });

  it('runs a command hook with the alert as JSON on stdin', async () => {
    const { ctx, dir } = await setup({});
    const out = path.join(dir, 'mail.json');
    (ctx.config.hooks as { commands: unknown[] }).commands = [
      { name: 'mail', command: ['sh', '-c', `cat > '${out}'`], levels: ['exceeded'] },
    ];
    const hooks = startAlertHooks(ctx);
    stops.push(() => hooks.stop());
    const warn = await logAlert(ctx, 'api', 'warning', 'WARNING: api usage at 78% - 78000/100000');
    const over = await logAlert(ctx, 'bandwidth', 'exceeded', 'QUOTA EXCEEDED: bandwidth - 105GB/100GB (105%)');
    ctx.events.emit('alerts.new', warn); // not a level this hook hears
    ctx.events.emit('alerts.new', over);
    await hooks.idle();
    expect(JSON.parse(fs.readFileSync(out, 'utf8')).text).toBe('QUOTA EXCEEDED: bandwidth - 105GB/100GB (105%)');
    expect(hooks.recent().map((l) => [l.alertId, l.outcome, l.status])).toEqual([[over.id, 'delivered', 0]]);
  });
});
