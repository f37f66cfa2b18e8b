// Settings › Collectors on a real agent context: a temp SQLite file and a temp config file that
// loadConfig reads back. A save keeps the file's other keys; an invalid one names its field and
// leaves the file byte for byte as it was.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventBus, type AgentContext } from '../../src/handlers/context';
import { createHandlers, dispatch } from '../../src/handlers/handlers';
import { loadConfig } from '../../src/config/config';
import type { TallyDb } from '../../src/storage/open';
import type { BatchedWriter } from '../../src/storage/writer';
import { tempDir, testDb, testWriter } from '../helpers/db';

const FILE_CONTENT = {
  currency: 'EUR',
  writer: { batchTimeoutSeconds: 0.5 },
  sync: { targets: [] },
  collectors: { storage: { paths: ['/srv/data'] }, bandwidth: { enabled: false } },
};

describe('collectors.get / collectors.set', () => {
  let dir: string;
  let configFile: string;
  let tdb: TallyDb;
  let writer: BatchedWriter;
  let ctx: AgentContext;

  beforeEach(async () => {
    dir = tempDir('tally-collectors-');
    configFile = path.join(dir, 'config.json');
    fs.writeFileSync(configFile, JSON.stringify(FILE_CONTENT, null, 2));
    const env = { TALLY_HOME: dir, TALLY_CONFIG: configFile };
    const config = { ...loadConfig({ env }), db: path.join(dir, 'tally.db') };
    tdb = await testDb(config.db);
    writer = await testWriter(tdb);
    ctx = { config, tdb, writer, events: new EventBus(), now: Date.now, configFile };
  });

  afterEach(async () => {
    await writer.close();
    await tdb.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const call = <K extends 'collectors.get' | 'collectors.set'>(name: K, args: Parameters<ReturnType<typeof createHandlers>[K]>[0]) =>
    dispatch(createHandlers(ctx), name, args);

  it('reads what the running agent uses, with no restart needed', async () => {
    const reply = await call('collectors.get', {});
    expect(reply).toEqual({ ok: true, data: { config: ctx.config.collectors, configFile, restartNeeded: false } });
    if (reply.ok) expect(reply.data.config.storage.paths).toEqual(['/srv/data']);
  });

  it('saves a valid change into the config file, keeps its other keys, and says a restart applies it', async () => {
    const reply = await call('collectors.set', {
      collectors: { storage: { schedule: '*/5 * * * *', paths: ['/srv/data', '/var/lib/app'] }, bandwidth: { exclude: ['lo'] } },
    });
    expect(reply.ok).toBe(true);
    if (!reply.ok) return;
    expect(reply.data.restartNeeded).toBe(true);
    expect(reply.data.config.storage).toMatchObject({ schedule: '*/5 * * * *', paths: ['/srv/data', '/var/lib/app'], volumes: ['/'] });

    const saved = JSON.parse(fs.readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    expect(saved.currency).toBe('EUR');
    expect(saved.writer).toEqual({ batchTimeoutSeconds: 0.5 });
    expect(saved.sync).toEqual({ targets: [] });
    expect(fs.statSync(configFile).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    // The next agent start reads exactly what was saved.
    const next = loadConfig({ env: { TALLY_HOME: dir, TALLY_CONFIG: configFile } });
    expect(next.collectors).toEqual(reply.data.config);
    expect(next.collectors.bandwidth).toMatchObject({ enabled: false, exclude: ['lo'] });
    expect(next.currency).toBe('EUR');

    // The running agent still uses its old schedule; get shows the saved section until a restart.
    expect(ctx.config.collectors.storage.schedule).toBe('* * * * *');
    expect(await call('collectors.get', {})).toEqual({ ok: true, data: { config: reply.data.config, configFile, restartNeeded: true } });
  });

  it.each([
    [{ storage: { schedule: 'every minute' } }, 'collectors.storage.schedule', /cron/],
    [{ storage: { paths: ['relative/dir'] } }, 'collectors.storage.paths[0]', /absolute path/],
    [{ bandwidth: { exclude: ['lo', 'eth 0'] } }, 'collectors.bandwidth.exclude[1]', /interface name pattern/],
    [{ compute: { processes: [{ name: 'nginx', pid: 12 }] } }, 'collectors.compute.processes[0]', /exactly one of name or pid/],
    [{ compute: { colour: 'red' } }, 'collectors.compute.colour', /not a setting/],
  ])('refuses %j naming the field, and leaves the file byte-identical', async (collectors, field, message) => {
    const before = fs.readFileSync(configFile);
    const reply = await call('collectors.set', { collectors: collectors as never });
    expect(reply.ok).toBe(false);
    if (reply.ok) return;
    expect(reply.error.code).toBe('invalid_input');
    expect(reply.error.field).toBe(field);
    expect(reply.error.message).toMatch(new RegExp(`^${field.replace(/[[\].]/g, '\\$&')}: `));
    expect(reply.error.message).toMatch(message);
    expect(fs.readFileSync(configFile).equals(before)).toBe(true);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(await call('collectors.get', {})).toMatchObject({ ok: true, data: { restartNeeded: false } });
  });

  it('creates the config file when there is none', async () => {
    fs.rmSync(configFile);
    const reply = await call('collectors.set', { collectors: { compute: { enabled: false } } });
    expect(reply.ok).toBe(true);
    expect(JSON.parse(fs.readFileSync(configFile, 'utf8'))).toEqual({ collectors: reply.ok ? reply.data.config : null });
  });
});
