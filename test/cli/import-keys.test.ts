// What `tally import` and `tally record` take, as a user runs them: the spellings POST /v1/events
// takes (camelCase and snake_case, two spellings of one field must agree), an unknown field
// refused by name (a typo never records under the default customer), a file that starts with
// a UTF-8 byte order mark, and quantities past 2^53 as decimal strings, stored exactly. Through
// a running agent too, where a refused record is still named by its position in the file.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireWriterLock, type WriterLock } from '../../src/storage/lock';
import { startAgent, type TestAgent } from '../server/agent';
import { tally, tallyJson, type CliResult } from '../helpers/cli';
import { fixedClock, tempDir } from '../helpers/db';

const NOW = Date.UTC(2026, 10, 15, 12);
const dir = tempDir('tally-import-keys-');
const env = (db: string) => ({ TALLY_DB: path.join(dir, db), TALLY_NOW: new Date(NOW).toISOString(), TALLY_NO_AGENT: '1' });
const api = { service: 'api', quantity: 1, metadata: { endpoint: '/a', method: 'GET' } };

interface Event {
  customer: string;
  user: string | null;
  recordedAt: string;
  service: string;
  quantity: number | string;
}

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}
const lines = (records: readonly unknown[]) => records.map((r) => JSON.stringify(r)).join('\n') + '\n';

function events(e: Record<string, string>): Event[] {
  return tallyJson<{ events: Event[] }>(['events', 'list', '--limit', '1000'], e).events;
}

describe('tally import: the fields of a record', () => {
  it('takes snake_case as POST /v1/events does: customer_id, user_id, recorded_at, timestamp', () => {
    const e = env('snake.db');
    const file = write(
      'snake.jsonl',
      lines([
        { ...api, customer_id: 'acme', user_id: 'u1', recorded_at: '2026-11-02T00:00:00Z' },
        { ...api, customer_id: 'acme', timestamp: '2026-11-03T00:00:00Z' },
        { ...api, customerId: 'acme', customer_id: 'acme', recordedAt: '2026-11-04T00:00:00Z' },
      ]),
    );
    expect(tallyJson(['import', file], e)).toEqual({ recorded: 3, duplicates: 0 });
    expect(
      events(e)
        .map((x) => [x.customer, x.user, x.recordedAt])
        .reverse(), // newest first
    ).toEqual([
      ['acme', 'u1', '2026-11-02T00:00:00.000Z'],
      ['acme', null, '2026-11-03T00:00:00.000Z'],
      ['acme', null, '2026-11-04T00:00:00.000Z'],
    ]);
  });

  it('refuses two spellings that disagree, and a bad value named as the file spells it, storing nothing', () => {
    const e = env('conflict.db');
    const conflict = tally(['import', write('conflict.jsonl', lines([api, { ...api, customerId: 'a', customer_id: 'b' }]))], e);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/records\[1\]\.customer_id: conflicts with customerId/);
    const bad = tally(['import', write('bad-snake.jsonl', lines([api, api, { ...api, customer_id: 'no spaces' }]))], e);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/records\[2\]\.customer_id: must be 1-128 characters/);
    expect(fs.existsSync(path.join(dir, 'conflict.db')) ? events(e) : []).toEqual([]);
  });

  it('refuses an unknown field by name (a typo would record under the default customer), storing nothing', () => {
    const e = env('typo.db');
    const r = tally(['import', write('typo.jsonl', lines([api, api, api, { ...api, customer: 'acme' }]))], e);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/records\[3\]\.customer: unknown field; did you mean customerId\?/);
    expect(fs.existsSync(path.join(dir, 'typo.db')) ? events(e) : []).toEqual([]);
  });

  it('skips a UTF-8 byte order mark at the start of JSON Lines and of a JSON array', () => {
    const e = env('bom.db');
    expect(tallyJson(['import', write('bom.jsonl', '\ufeff' + lines([{ ...api, customerId: 'bom' }]))], e)).toEqual({
      recorded: 1,
      duplicates: 0,
    });
    expect(tallyJson(['import', write('bom.json', '\ufeff' + JSON.stringify([{ ...api, customerId: 'bom' }]))], e)).toEqual({
      recorded: 1,
      duplicates: 0,
    });
    expect(events(e).map((x) => x.customer)).toEqual(['bom', 'bom']);
  });
});

describe('quantities past 2^53', () => {
  it('import stores a decimal string quantity exactly; tally record stores the digits as typed', () => {
    const e = env('big.db');
    expect(tallyJson(['import', write('big.jsonl', lines([{ service: 'storage', quantity: '9007199254740993' }]))], e)).toEqual({
      recorded: 1,
      duplicates: 0,
    });
    const rec = tally(['record', 'storage', '9007199254740995'], e);
    expect(rec.code, rec.stderr).toBe(0);
    expect(
      events(e)
        .map((x) => x.quantity)
        .sort(),
    ).toEqual(['9007199254740993', '9007199254740995']);
    const words = tally(['import', write('words.jsonl', lines([{ service: 'storage', quantity: 'lots' }]))], e);
    expect(words.code).toBe(1);
    expect(words.stderr).toMatch(/records\[0\]\.quantity: must be a number or a decimal string/);
  });
});

describe('tally import through a running agent', () => {
  const clock = fixedClock(NOW);
  let agent: TestAgent;
  let lock: WriterLock;
  let agentEnv: Record<string, string>;

  /** `tally` without blocking this process: the agent under test runs in it and must answer. */
  const run = (args: string[]) =>
    new Promise<CliResult>((resolve) => {
      execFile(
        process.execPath,
        [path.resolve('bin/tally.mjs'), ...args],
        { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', TALLY_CONFIG: '/nonexistent/config.json', ...agentEnv } },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
      );
    });

  beforeAll(async () => {
    agent = await startAgent({ writer: { clock: clock.now } });
    lock = acquireWriterLock(agent.dbFile, 'tally agent (test)');
    agentEnv = { TALLY_DB: agent.dbFile };
  });
  afterAll(async () => {
    lock?.release();
    await agent?.stop();
  });

  const at = '2026-11-02T00:00:00Z';

  it('takes snake_case and decimal strings as a local import does', async () => {
    const file = write(
      'agent-ok.jsonl',
      lines([
        { ...api, customer_id: 'via-agent', recorded_at: at },
        { service: 'storage', quantity: '9007199254740993', customer_id: 'via-agent', timestamp: at },
      ]),
    );
    const r = await run(['import', file, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const rows = agent.tdb.sqlite
      .prepare(
        "SELECT service, CAST(quantity AS TEXT) AS q, recorded_at FROM usage_records WHERE customer_id = 'via-agent' ORDER BY service",
      )
      .all();
    expect(rows).toEqual([
      { service: 'api', q: '1', recorded_at: Date.parse(at) },
      { service: 'storage', q: '9007199254740993', recorded_at: Date.parse(at) },
    ]);
  });

  it('names a refused record by its position in the file, not in the batch the agent was sent', async () => {
    // Records go to the agent a thousand at a time: record 1002 is the third of the second batch.
    const records: Array<Record<string, unknown>> = Array.from({ length: 1005 }, () => ({ ...api, customerId: 'batched', recordedAt: at }));
    records[1002] = { ...api, customer: 'batched', recordedAt: at };
    const typo = await run(['import', write('agent-typo.jsonl', lines(records))]);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/records\[1002\]\.customer: unknown field; did you mean customerId\?/);
    records[1002] = { ...api, customer_id: 'no spaces', recorded_at: at };
    const spelled = await run(['import', write('agent-snake.jsonl', lines(records))]);
    expect(spelled.code).toBe(1);
    expect(spelled.stderr).toMatch(/records\[1002\]\.customer_id: must be 1-128 characters/);
  });
});
