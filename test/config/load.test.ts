// loadConfig checks each layer (file, environment, command line) in the sections it sets; the
// defaults are taken as they are. These pin what that must not change: the defaults are what the
// whole schema accepts, every mistake names its layer and its field, nothing of a caller's is frozen.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema, defaults, loadConfig } from '../../src/config/config';
import { TallyError } from '../../src/core/errors';
import { tempDir } from '../helpers/db';

function withFile(content: unknown): string {
  const file = path.join(tempDir('tally-config-'), 'config.json');
  fs.writeFileSync(file, JSON.stringify(content));
  return file;
}

function refusal(run: () => unknown): { message: string; field: string | undefined } {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(TallyError);
    return { message: (err as TallyError).message, field: (err as TallyError).field };
  }
  throw new Error('expected loadConfig to refuse');
}

describe('loadConfig', () => {
  it('the defaults are what the whole schema accepts, unchanged', () => {
    // No config file where the environment points (a user's own must not count here).
    const none = path.join(tempDir('tally-config-'), 'none.json');
    for (const env of [{ TALLY_CONFIG: none }, { TALLY_CONFIG: none, TALLY_HOME: '/srv/tally' }]) {
      const d = defaults(env);
      expect(configSchema().parse(d)).toEqual(d);
      expect(loadConfig({ env })).toEqual(d);
    }
  });

  it('a mistake in the file names the file and the field; one in the environment names the environment', () => {
    const file = withFile({ writer: { batchSize: 0 } });
    expect(refusal(() => loadConfig({ env: {}, file }))).toEqual({
      message: expect.stringMatching(new RegExp(`^config file ${file}: writer\\.batchSize: `)),
      field: 'writer.batchSize',
    });
    const ok = withFile({ sync: { intervalSeconds: 5 } });
    expect(refusal(() => loadConfig({ env: { USAGE_BATCH_SIZE: '0' }, file: ok }))).toMatchObject({
      message: expect.stringMatching(/^environment: writer\.batchSize: /),
      field: 'writer.batchSize',
    });
  });

  it('a section set to something else entirely, or a key the config does not have, is refused by name', () => {
    expect(refusal(() => loadConfig({ env: {}, file: withFile({ hooks: 5 }) }))).toMatchObject({ field: 'hooks' });
    expect(refusal(() => loadConfig({ env: {}, file: withFile({ collectors: { storage: { paths: ['relative'] } } }) }))).toMatchObject({
      field: 'collectors.storage.paths.0',
    });
    expect(refusal(() => loadConfig({ env: {}, file: withFile({ dbPath: '/x.db' }) })).message).toMatch(/dbPath/);
  });

  it('the command line comes last; the result is frozen, the caller’s overrides are not', () => {
    const overrides = { db: '/tmp/other.db', writer: { batchSize: 7 } };
    const config = loadConfig({ env: { USAGE_BATCH_SIZE: '50' }, file: withFile({ writer: { batchSize: 20 } }), overrides });
    expect(config.db).toBe('/tmp/other.db');
    expect(config.writer).toMatchObject({ batchSize: 7, batchTimeoutSeconds: 5 });
    expect(Object.isFrozen(config.writer)).toBe(true);
    expect(Object.isFrozen(overrides.writer)).toBe(false);
    expect(refusal(() => loadConfig({ env: {}, file: withFile({}), overrides: { db: '' } }))).toMatchObject({
      message: expect.stringMatching(/^command line: db: /),
      field: 'db',
    });
  });

  it('alert thresholds out of order name the variable or the file that set them', () => {
    const none = path.join(tempDir('tally-config-'), 'none.json');
    expect(refusal(() => loadConfig({ env: { TALLY_CONFIG: none, USAGE_ALERT_WARNING: '150' } }))).toEqual({
      message: expect.stringMatching(/^environment USAGE_ALERT_WARNING: alerts: thresholds must rise: .*warning 150, critical 90/),
      field: 'alerts',
    });
    expect(refusal(() => loadConfig({ env: { TALLY_CONFIG: none, USAGE_ALERT_CRITICAL: '50' } })).message).toMatch(
      /^environment USAGE_ALERT_CRITICAL: alerts: thresholds must rise/,
    );
    const file = withFile({ alerts: { critical: 95, exceeded: 90 } });
    expect(refusal(() => loadConfig({ env: {}, file })).message).toMatch(
      new RegExp(`^config file ${file}: alerts: thresholds must rise: .*critical 95, exceeded 90`),
    );
  });

  it('a __proto__ key in the file is refused by name, like constructor, at the top or in a section', () => {
    for (const text of ['{"__proto__":{"db":"/x.db"}}', '{"writer":{"__proto__":{"batchSize":"many"}}}', '{"constructor":{}}']) {
      const file = path.join(tempDir('tally-config-'), 'config.json');
      fs.writeFileSync(file, text);
      const r = refusal(() => loadConfig({ env: {}, file }));
      expect(r.message).toMatch(new RegExp(`^config file ${file}: `));
      expect(r.message).toMatch(text.includes('constructor') ? /constructor/ : /__proto__/);
    }
  });

  it('integer settings from the environment take plain decimal digits only', () => {
    const none = path.join(tempDir('tally-config-'), 'none.json');
    for (const [name, raw] of [
      ['USAGE_BATCH_SIZE', '0x10'],
      ['USAGE_BATCH_SIZE', '1e2'],
      ['TALLY_PORT', '0o17'],
      ['USAGE_BATCH_TIMEOUT', '0x10'],
    ] as const) {
      expect(refusal(() => loadConfig({ env: { TALLY_CONFIG: none, [name]: raw } }))).toEqual({
        message: `environment ${name}: "${raw}" is not a ${name === 'USAGE_BATCH_TIMEOUT' ? 'number' : 'whole number'} in decimal digits`,
        field: name,
      });
    }
    const config = loadConfig({ env: { TALLY_CONFIG: none, USAGE_BATCH_SIZE: '16', USAGE_BATCH_TIMEOUT: '0.5' } });
    expect(config.writer).toMatchObject({ batchSize: 16, batchTimeoutSeconds: 0.5 });
  });
});
