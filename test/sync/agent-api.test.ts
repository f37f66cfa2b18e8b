// The agent's sync service layer, as the UI's Settings → Sync screen uses it, and the background
// worker the agent runs: tokens go in and never come out, bad URLs are refused naming the field,
// sync.now delivers, and a flushed record reaches the endpoint without anyone asking.
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus, type AgentContext } from '../../src/handlers/context';
import { createHandlers, dispatch } from '../../src/handlers/handlers';
import { loadConfig } from '../../src/config/config';
import { startSyncWorker } from '../../src/sync/run';
import { migrate } from '../../src/storage/migrate';
import { openDatabase } from '../../src/storage/open';
import { startOpenMeterFake, type OpenMeterFake } from '../fakes/openmeter';
import { tempDir, testDb, testWriter } from '../helpers/db';
import path from 'node:path';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function context(): Promise<{ ctx: AgentContext; om: OpenMeterFake }> {
  const om = await startOpenMeterFake('om_secret_key');
  const tdb = await testDb();
  const writer = await testWriter(tdb, { batchSize: 1000, batchTimeoutMs: 20 });
  const config = loadConfig({ env: { TALLY_CONFIG: path.join(tempDir(), 'none.json'), TALLY_DB: tdb.path, TALLY_HOST_ID: 'test-host' } });
  const ctx: AgentContext = {
    config: { ...config, sync: { ...config.sync, intervalSeconds: 60, timeoutSeconds: 2 } },
    tdb,
    writer,
    events: new EventBus(),
    now: Date.now,
  };
  cleanup.push(async () => {
    await writer.close();
    await tdb.close();
    await om.close();
  });
  return { ctx, om };
}

const rec = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    service: 'api',
    quantity: 1,
    customerId: 'acme',
    metadata: { endpoint: `/e${i}`, method: 'GET', status: 200 },
  }));

describe('sync handlers', () => {
  it('stores a target with its token, never shows the token, and keeps it when the form omits it', async () => {
    const { ctx, om } = await context();
    const h = createHandlers(ctx);
    const set = await dispatch(h, 'sync.targets.set', {
      target: { name: 'meter', kind: 'openmeter', url: om.url, token: 'om_secret_key' },
    });
    expect(set.ok).toBe(true);
    expect(JSON.stringify(set)).not.toContain('om_secret_key');
    // The UI changes the batch size without retyping the token.
    await dispatch(h, 'sync.targets.set', { target: { name: 'meter', kind: 'openmeter', url: om.url, batchSize: 7 } });
    const list = await dispatch(h, 'sync.targets.list', {});
    expect(list).toEqual({
      ok: true,
      data: [expect.objectContaining({ name: 'meter', tokenSet: true, batchSize: 7, origin: 'settings' })],
    });
    expect(JSON.stringify(list)).not.toContain('om_secret_key');

    await ctx.writer.recordMany(rec(20));
    const now = await dispatch(h, 'sync.now', {});
    expect(now).toEqual({ ok: true, data: [expect.objectContaining({ target: 'meter', status: 'idle', delivered: 20 })] });
    expect(om.events.size).toBe(20);
    expect(om.requests.every((r) => JSON.parse(r.body).length <= 7)).toBe(true);
    const status = await dispatch(h, 'sync.status', {});
    expect(status).toEqual({
      ok: true,
      data: [expect.objectContaining({ name: 'meter', pending: 0, rejected: 0, lastError: null, stopped: null })],
    });
    expect(JSON.stringify(status)).not.toContain('om_secret_key');

    const removed = await dispatch(h, 'sync.targets.remove', { name: 'meter' });
    expect(removed).toEqual({ ok: true, data: [] });
  });

  it('refuses plain http to another machine, naming the field', async () => {
    const { ctx } = await context();
    const reply = await dispatch(createHandlers(ctx), 'sync.targets.set', {
      target: { name: 'far', kind: 'tally', url: 'http://billing.example.com', token: 't' },
    });
    expect(reply).toEqual({
      ok: false,
      error: expect.objectContaining({ code: 'invalid_input', field: 'target.url', message: expect.stringContaining('https://') }),
    });
  });

  it('lists refused records and sends them again after a fix', async () => {
    const { ctx, om } = await context();
    const h = createHandlers(ctx);
    await dispatch(h, 'sync.targets.set', { target: { name: 'meter', kind: 'openmeter', url: om.url, token: 'om_secret_key' } });
    const stored = await ctx.writer.recordMany(rec(5));
    om.refuseIds.add(stored[2]!.id);
    await dispatch(h, 'sync.now', {});
    const rejected = await dispatch(h, 'sync.rejected.list', { target: 'meter' });
    expect(rejected).toEqual({ ok: true, data: [expect.objectContaining({ id: stored[2]!.id, kind: 'rejected' })] });
    om.refuseIds.clear();
    expect(await dispatch(h, 'sync.retryRejected', { target: 'meter' })).toEqual({ ok: true, data: { delivered: 1, stillRejected: 0 } });
    expect(om.events.size).toBe(5);
  });
});

describe('startSyncWorker', () => {
  it('delivers what the writer flushes, emits sync.status, and stops cleanly', async () => {
    const { ctx, om } = await context();
    await dispatch(createHandlers(ctx), 'sync.targets.set', {
      target: { name: 'meter', kind: 'openmeter', url: om.url, token: 'om_secret_key' },
    });
    const seen: number[] = [];
    ctx.events.on('sync.status', (s) => seen.push(s.targets[0]!.pending));
    const worker = startSyncWorker(ctx);
    await ctx.writer.recordMany(rec(12));
    for (let i = 0; i < 100 && om.events.size < 12; i++) await new Promise((r) => setTimeout(r, 50));
    expect(om.events.size).toBe(12);
    await worker.stop();
    expect(seen).toContain(0);
  });
});

describe('migration 0004', () => {
  it('adds the sync tables and keeps an existing cursor', () => {
    const file = path.join(tempDir(), 'm.db');
    const tdb = openDatabase(file, { migrate: false });
    migrate(tdb.sqlite, { target: 3 });
    tdb.sqlite.prepare("INSERT INTO sync_state (target, acked_seq, updated_at) VALUES ('old', 42, 1)").run();
    migrate(tdb.sqlite);
    expect(tdb.sqlite.prepare("SELECT acked_seq, attempts, stopped, unknown_since FROM sync_state WHERE target = 'old'").get()).toEqual({
      acked_seq: 42,
      attempts: 0,
      stopped: null,
      unknown_since: null,
    });
    expect(() =>
      tdb.sqlite.prepare("INSERT INTO sync_targets (name, kind, url, created_at, updated_at) VALUES ('x', 'ftp', 'u', 1, 1)").run(),
    ).toThrow(/CHECK/);
    tdb.sqlite.prepare("INSERT INTO sync_rejections (target, seq, id, kind, reason, at) VALUES ('old', 1, 'A', 'review', 'r', 1)").run();
    expect(() =>
      tdb.sqlite.prepare("INSERT INTO sync_rejections (target, seq, id, kind, reason, at) VALUES ('old', 1, 'A', 'review', 'r', 1)").run(),
    ).toThrow(/UNIQUE/);
    tdb.sqlite.close();
  });
});

describe('tokens in config and in answers', () => {
  it('reads a config target token from the environment, and keeps an echoed token out of status and logs', async () => {
    const { startFake } = await import('../fakes/server');
    const echo = await startFake((req) => ({
      status: 401,
      body: { error: { message: `not accepted: ${String(req.headers.authorization)}` } },
    }));
    cleanup.push(() => echo.close());
    const tdb = await testDb();
    const writer = await testWriter(tdb);
    cleanup.push(async () => {
      await writer.close();
      await tdb.close();
    });
    const env = { TALLY_CONFIG: path.join(tempDir(), 'none.json'), TALLY_DB: tdb.path };
    const base = loadConfig({ env });
    process.env.TALLY_TEST_SYNC_TOKEN = 'echo_secret_token_42';
    const config = {
      ...base,
      sync: { ...base.sync, targets: [{ name: 'echo', kind: 'tally' as const, url: echo.url, tokenEnv: 'TALLY_TEST_SYNC_TOKEN' }] },
    };
    const logs: string[] = [];
    const ctx: AgentContext = { config, tdb, writer, events: new EventBus(), now: Date.now };
    const h = createHandlers(ctx);
    expect(await dispatch(h, 'sync.targets.list', {})).toEqual({
      ok: true,
      data: [expect.objectContaining({ name: 'echo', origin: 'config', tokenSet: true })],
    });
    await writer.recordMany(rec(2));
    const worker = startSyncWorker(ctx, (l) => logs.push(JSON.stringify(l)));
    for (let i = 0; i < 100 && !(echo.requests.length > 0 && logs.length > 0); i++) await new Promise((r) => setTimeout(r, 20));
    await worker.stop();
    expect(echo.requests[0]!.headers.authorization).toBe('Bearer echo_secret_token_42');
    const status = await dispatch(h, 'sync.status', {});
    expect(JSON.stringify(status)).toContain('[token]');
    expect(JSON.stringify(status)).not.toContain('echo_secret_token_42');
    expect(logs.join('\n')).not.toContain('echo_secret_token_42');
    delete process.env.TALLY_TEST_SYNC_TOKEN;
  });
});
