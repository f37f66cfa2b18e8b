// The contract's runtime check, for every handler: wrong-typed, missing and unknown arguments,
// generated from the handler's own schema, are answered invalid_input naming the field as the
// caller sent it; none is answered `internal`; nothing is stored. Over the in-process dispatch
// (what IPC uses), the CLI's one-domain call and HTTP /api/call.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { argSchemas, type HandlerName } from '../../src/core/api/contract';
import { createHandlers, dispatch, type AllHandlers } from '../../src/handlers/handlers';
import { invokeOne } from '../../src/handlers/domains';
import { toTallyError } from '../../src/core/errors';
import type { TallyDb } from '../../src/storage/open';
import { startAgent, type TestAgent } from '../server/agent';

const WRONG_VALUES: readonly unknown[] = [12345, -1, 'text', '', true, null, [], [1], {}, { a: 1 }];
const NAMES = Object.keys(argSchemas) as HandlerName[];

type Shape = Record<string, z.ZodType>;
const shapeOf = (name: HandlerName): Shape => (argSchemas[name] as unknown as { shape: Shape }).shape;

const requiredKeys = (name: HandlerName): string[] =>
  Object.entries(shapeOf(name))
    .filter(([, s]) => !s.safeParse(undefined).success)
    .map(([k]) => k);

/** Every wrong argument set for one handler, each with the fields it may be blamed on (the wrong one, or a missing required one). */
function badCalls(name: HandlerName): Array<{ args: unknown; fields: string[] }> {
  const missing = (given: string) => requiredKeys(name).filter((k) => k !== given);
  const calls: Array<{ args: unknown; fields: string[] }> = [
    { args: 'not an object', fields: ['args'] },
    { args: [1, 2], fields: ['args'] },
    { args: { noSuchArgument: 1 }, fields: ['noSuchArgument', ...missing('')] },
  ];
  for (const [key, schema] of Object.entries(shapeOf(name))) {
    for (const value of WRONG_VALUES) {
      if (schema.safeParse(value).success) continue;
      calls.push({ args: { [key]: value }, fields: [key, ...missing(key)] });
    }
  }
  return calls;
}

const blames = (field: string | undefined, fields: readonly string[]) =>
  field !== undefined && fields.some((f) => field === f || field.startsWith(`${f}.`) || field.startsWith(`${f}[`));

function tableCounts(tdb: TallyDb): Record<string, number> {
  const tables = tdb.sqlite
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .pluck()
    .all() as string[];
  return Object.fromEntries(tables.map((t) => [t, tdb.sqlite.prepare(`SELECT count(*) FROM "${t}"`).pluck().get() as number]));
}

describe('every handler checks its arguments against the contract', () => {
  let agent: TestAgent;
  let handlers: AllHandlers;
  let before: Record<string, number>;

  beforeAll(async () => {
    agent = await startAgent();
    handlers = createHandlers(agent.ctx);
    await agent.writer.flush();
    before = tableCounts(agent.tdb);
  });

  afterAll(async () => {
    await agent?.stop();
  });

  it.each(NAMES)('%s: wrong, missing and unknown arguments name their field (in process)', async (name) => {
    for (const { args, fields } of badCalls(name)) {
      const reply = await dispatch(handlers, name, args);
      const what = `${name} ${JSON.stringify(args)}`;
      expect(reply.ok, what).toBe(false);
      if (reply.ok) continue;
      expect(reply.error.code, `${what}: ${reply.error.message}`).toBe('invalid_input');
      expect(blames(reply.error.field, fields), `${what}: ${reply.error.message}`).toBe(true);
      expect(reply.error.message).toContain(reply.error.field);
    }
  });

  it.each(NAMES)("%s: the CLI's call, loading only its domain, answers as the full dispatch does", async (name) => {
    for (const { args } of badCalls(name)) {
      const full = await dispatch(handlers, name, args);
      const one = await invokeOne(agent.ctx, name, args).then(
        () => null,
        (err: unknown) => toTallyError(err).toJSON(),
      );
      expect(one, `${name} ${JSON.stringify(args)}`).toEqual(full.ok ? null : full.error);
    }
  });

  it.each(NAMES.filter((n) => requiredKeys(n).length > 0))('%s: a missing required argument is named (in process)', async (name) => {
    const reply = await dispatch(handlers, name, {});
    expect(reply.ok).toBe(false);
    if (!reply.ok) {
      expect(reply.error.code).toBe('invalid_input');
      expect(reply.error.message).toMatch(/is required|give either/);
    }
  });

  it('the message says what was sent instead', async () => {
    const reply = await dispatch(handlers, 'quotas.set', { service: 'api', limit: 'ten', period: 'month' });
    expect(reply).toMatchObject({ ok: false, error: { field: 'limit', message: 'limit: must be a number, not a string' } });
    const nested = await dispatch(handlers, 'report.usage', { service: {} });
    expect(nested).toMatchObject({ ok: false, error: { field: 'service', message: 'service: must be a string, not an object' } });
  });

  it('the same answers come over HTTP /api/call, never a 500', async () => {
    const { url, token } = agent.server;
    for (const name of NAMES) {
      for (const { args, fields } of badCalls(name).slice(0, 6)) {
        const res = await fetch(`${url}/api/call/${name}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(args),
        });
        expect(res.status, `${name} ${JSON.stringify(args)}`).toBeLessThan(500);
        const body = (await res.json()) as { ok: boolean; error?: { code: string; field?: string } };
        expect(body.ok).toBe(false);
        expect(body.error?.code).toBe('invalid_input');
        expect(blames(body.error?.field, fields), `${name} ${JSON.stringify(args)}`).toBe(true);
      }
    }
  });

  it('nothing was stored by any of them', async () => {
    await agent.writer.flush();
    expect(tableCounts(agent.tdb)).toEqual(before);
  });
});
