// The tenants CLI as a user runs it: customers, keys (printed once, listed never), and the
// event log (list with filters and pages, show, tail). A fixed clock (TALLY_NOW) throughout.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/db';
import { tally, tallyJson } from '../helpers/cli';

const dir = tempDir('tally-cli-tenants-');
const env = { TALLY_DB: path.join(dir, 'tally.db'), TALLY_NOW: '2026-03-10T12:00:00Z', TALLY_NO_AGENT: '1' };
let minute = 0;
/** Each event a minute after the last, so "newest first" has one answer. */
const track = (customer: string, endpoint: string) =>
  tally(['track', 'api', endpoint, 'GET', '200', '--customer', customer], {
    ...env,
    TALLY_NOW: `2026-03-10T12:${String(minute++).padStart(2, '0')}:00Z`,
  });

beforeAll(() => {
  for (const [c, e] of [
    ['acme', '/a'],
    ['acme', '/b'],
    ['globex', '/c'],
  ] as const)
    expect(track(c, e).code).toBe(0);
});

describe('tally customers', () => {
  it('lists customers that appeared by their events, with the month cost', () => {
    const rows = tallyJson<Array<{ id: string; events: number; cost: string; month: string }>>(['customers', 'list'], env);
    expect(rows.map((r) => [r.id, r.events, r.month])).toEqual([
      ['acme', 2, '2026-03'],
      ['globex', 1, '2026-03'],
    ]);
    expect(rows[0]!.cost).toBe('0.0002');
  });

  it('adds, shows and updates; a duplicate or unknown id exits 1 naming the field', () => {
    expect(tally(['customers', 'add', 'initech', '--name', 'Initech', '--metadata', '{"plan":"pro"}'], env).code).toBe(0);
    const shown = tallyJson<{ displayName: string; metadata: unknown }>(['customers', 'show', 'initech'], env);
    expect(shown).toMatchObject({ displayName: 'Initech', metadata: { plan: 'pro' } });
    expect(tallyJson<{ displayName: string }>(['customers', 'update', 'initech', '--name', 'Initech LLC'], env).displayName).toBe(
      'Initech LLC',
    );
    const dup = tally(['customers', 'add', 'initech'], env);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('id:');
    const bad = tally(['customers', 'add', 'no spaces'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('id:');
    expect(tally(['customers', 'show', 'nobody'], env).code).toBe(1);
  });
});

describe('tally keys', () => {
  it('prints the key once, lists without it, revokes', () => {
    const k = tallyJson<{ id: string; key: string; customer: string; scope: string; rate: number }>(
      ['keys', 'create', '--customer', 'acme', '--scope', 'ingest', '--rate', '120/min'],
      env,
    );
    expect(k).toMatchObject({ customer: 'acme', scope: 'ingest', rate: 120 });
    expect(k.key).toMatch(/^tk_/);
    const list = tally(['keys', 'list'], env);
    expect(list.stdout).toContain(k.id);
    expect(list.stdout).not.toContain(k.key);
    expect(tally(['keys', 'revoke', k.id], env).code).toBe(0);
    expect(tally(['keys', 'list'], env).stdout).not.toContain(k.id);
    expect(tally(['keys', 'list', '--all'], env).stdout).toContain(k.id);
  });

  it('a read key prints its dashboard link', () => {
    const out = tally(['keys', 'create', '--customer', 'globex', '--scope', 'read'], env);
    expect(out.code).toBe(0);
    const key = /key: (tk_\S+)/.exec(out.stdout)![1]!;
    expect(out.stdout).toContain(`dashboard for globex: http://127.0.0.1:7878/?key=${key}`);
  });

  it('refuses a wrong scope or rate, naming it', () => {
    const scope = tally(['keys', 'create', '--customer', 'acme', '--scope', 'write'], env);
    expect([scope.code, scope.stderr]).toEqual([1, expect.stringContaining('scope:')]);
    const rate = tally(['keys', 'create', '--customer', 'acme', '--scope', 'read', '--rate', 'fast'], env);
    expect([rate.code, rate.stderr]).toEqual([1, expect.stringContaining('rate:')]);
  });
});

describe('tally events', () => {
  it('lists newest first with filters and pages, and shows one', () => {
    const page1 = tallyJson<{ events: Array<{ id: string; metadata: { endpoint: string } }>; total_count: number; next_cursor: string }>(
      ['events', 'list', '--customer', 'acme', '--limit', '1'],
      env,
    );
    expect(page1.total_count).toBe(2);
    expect(page1.events[0]!.metadata.endpoint).toBe('/b');
    const page2 = tallyJson<typeof page1>(['events', 'list', '--customer', 'acme', '--limit', '1', '--cursor', page1.next_cursor], env);
    expect(page2.events.map((e) => e.metadata.endpoint)).toEqual(['/a']);
    expect(page2.next_cursor).toBeNull();
    const shown = tally(['events', 'show', page1.events[0]!.id], env);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('"endpoint": "/b"');
    expect(tally(['events', 'list', '--cursor', 'garbage'], env).stderr).toContain('cursor:');
  });

  it('tail prints events stored after it started', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(
      process.execPath,
      [path.resolve('bin/tally.mjs'), 'events', 'tail', '--json', '--count', '1', '--interval', '0.1'],
      {
        env: { ...process.env, TALLY_CONFIG: '/nonexistent/tally-test-config.json', ...env },
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
    // Keep recording until tail has printed one (it starts from where the log ends when it starts).
    for (let i = 0; i < 50 && out === ''; i++) {
      expect(track('globex', '/tail').code).toBe(0);
      await new Promise((r) => setTimeout(r, 200)); // let tail's output arrive
    }
    expect(await exited).toBe(0);
    expect(JSON.parse(out.trim().split('\n')[0]!)).toMatchObject({ customer: 'globex', metadata: { endpoint: '/tail' } });
  });
});

describe('tally top-users, errors, latency', () => {
  it('print the second seed’s analytics for the month, and --json', () => {
    const top = tallyJson<{ users: Array<{ customer: string; user: string | null }> }>(['top-users'], env);
    expect(top.users).toEqual([]); // these events carry no user
    expect(
      tally(['track', 'api', '/u', 'GET', '500', '--customer', 'acme', '--user', 'u-1'], { ...env, TALLY_NOW: '2026-03-10T13:00:00Z' })
        .code,
    ).toBe(0);
    expect(tallyJson<{ users: Array<{ user: string }> }>(['top-users', '--customer', 'acme'], env).users.map((u) => u.user)).toEqual([
      'u-1',
    ]);
    const errors = tally(['errors', '--customer', 'acme'], env);
    expect(errors.code).toBe(0);
    expect(errors.stdout).toContain('/u');
    expect(tally(['latency', '--by', 'endpoint'], env).code).toBe(0);
    const bad = tally(['top-users', '--by', 'usage'], env);
    expect([bad.code, bad.stderr]).toEqual([1, expect.stringContaining('by:')]);
  });
});
