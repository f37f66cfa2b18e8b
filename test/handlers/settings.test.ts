// Settings › Schedule and Alert hooks through the service layer, on a temp database and config
// file: the schedule is shown and saved (an invalid change names its field and saves nothing),
// a job runs now and its result is listed, hooks are shown without their secrets.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaults } from '../../src/config/config';
import { EventBus, type AgentContext } from '../../src/handlers/context';
import { createHandlers, invoke } from '../../src/handlers/handlers';
import { tempDir, testDb, testWriter } from '../helpers/db';

describe('settings handlers', () => {
  it('show and save the schedule, run a job now, and never show a hook secret', async () => {
    const dir = tempDir('tally-settings-');
    const tdb = await testDb(path.join(dir, 'tally.db'));
    const writer = await testWriter(tdb);
    const configFile = path.join(dir, 'config.json');
    fs.writeFileSync(configFile, JSON.stringify({ currency: 'EUR' }));
    const base = defaults();
    const config = {
      ...base,
      currency: 'EUR',
      hooks: { ...base.hooks, webhooks: [{ name: 'ops', url: 'https://example.com/hook', secret: 'whsec_0123456789abcdef' }] },
    };
    const ctx: AgentContext = { config, tdb, writer, events: new EventBus(), now: Date.now, configFile };
    const h = createHandlers(ctx);

    const first = await invoke(h, 'settings.get', {});
    expect(first.currency).toBe('EUR');
    expect(
      Object.entries(first.schedule)
        .filter(([, j]) => j.enabled)
        .map(([name]) => name),
    ).toEqual(['optimize']);
    expect(first.hooks).toEqual([{ name: 'ops', kind: 'webhook', target: 'https://example.com/hook', levels: null }]);
    expect(JSON.stringify(first)).not.toContain('whsec_');

    await expect(invoke(h, 'schedule.set', { schedule: { export: { cron: 'every day' } } })).rejects.toThrow(
      /^schedule\.export\.cron: must be a cron expression/,
    );
    expect(JSON.parse(fs.readFileSync(configFile, 'utf8'))).toEqual({ currency: 'EUR' });

    const saved = await invoke(h, 'schedule.set', { schedule: { export: { enabled: true, format: 'json' } } });
    expect(saved.schedule.export).toMatchObject({ enabled: true, format: 'json', cron: '15 0 * * *' });
    expect(saved.restartNeeded).toBe(true);
    expect(JSON.parse(fs.readFileSync(configFile, 'utf8'))).toMatchObject({ currency: 'EUR', schedule: { export: { enabled: true } } });

    const run = await invoke(h, 'schedule.run', { job: 'optimize' });
    expect(run).toMatchObject({ job: 'optimize', ok: true });
    expect((await invoke(h, 'settings.get', {})).lastRuns.map((r) => r.job)).toEqual(['optimize']);
    await writer.close();
    await tdb.close();
  });
});
