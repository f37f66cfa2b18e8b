// The fast path of validateRecord must accept exactly what the general rules accept, with the same
// normalised values, and fail with the same message naming the same field: compared here over many
// generated good and bad records with the implementation that had no fast path.
import { describe, expect, it } from 'vitest';
import { prng } from '../../src/core/demo';
import { validateRecord, type ValidationContext } from '../../src/core/records';
import { BUILTIN_SERVICES, type ServiceDefinition } from '../../src/core/services';
import { validateRecord as referenceValidate } from './records.reference';

const now = Date.UTC(2026, 10, 22, 12);
const counted: ServiceDefinition = { ...BUILTIN_SERVICES[0]!, name: 'logins', requiredFields: [], aggregation: 'count' };
const valued: ServiceDefinition = { ...BUILTIN_SERVICES[0]!, name: 'orders', requiredFields: [], valueProperty: 'amount' };
const fractional: ServiceDefinition = { ...BUILTIN_SERVICES[0]!, name: 'gpu', requiredFields: [], integerOnly: false };
const ctx: ValidationContext = {
  services: new Map([...BUILTIN_SERVICES, counted, valued, fractional].map((s) => [s.name, s])),
  defaultCustomerId: 'acme',
  defaultSource: 'test',
  now,
};

const ABSENT = Symbol('absent');
const services = ['api', 'storage', 'compute', 'bandwidth', 'gpu', 'logins', 'orders', '', 'teleport', 7, null];
const quantities = [
  0,
  -0,
  1,
  42,
  1.5,
  0.000001,
  0.0000005,
  0.1 + 0.2,
  123456.789012,
  999999.9999999,
  1e6 + 0.5,
  2 ** 53,
  2 ** 53 - 1,
  9_007_199_254.5,
  -1,
  NaN,
  Infinity,
  '1',
  12n,
  -3n,
  1e-7,
  3.14159265,
  ABSENT,
  null,
];
const metadatas = [
  ABSENT,
  null,
  {},
  { endpoint: '/users', method: 'GET', status: 200 },
  { endpoint: '', method: 'GET' },
  { method: 'GET' },
  { direction: 'egress' },
  { amount: 12.5 },
  { amount: '7' },
  { amount: 'x' },
  [],
  'text',
  { big: 'x'.repeat(3000) },
  { nested: { __proto__x: 1 } },
  JSON.parse('{"__proto__": {"a": 1}}'),
  { constructor: 1 },
  { 'a\u0000b': 1 },
  { note: '__proto__ as a value' },
  { a: { constructor: 2 } },
  { a: [{ 'x\u0000': 1 }] },
  Object.assign(Object.create(null), { endpoint: '/n', method: 'GET' }),
  { endpoint: '/d', method: 'GET', when: new Date(0) },
  { endpoint: '/é', method: 'PÖST', emoji: '😀'.repeat(600) },
];
const identifiers = [
  ABSENT,
  null,
  'acme',
  'a',
  'user-1.x_y:z@w',
  'a/b',
  '-lead',
  '',
  'x'.repeat(64),
  'x'.repeat(65),
  'x'.repeat(128),
  'x'.repeat(129),
  'é',
  'a b',
  'a\n',
  5,
];
const times = [
  ABSENT,
  null,
  now,
  now - 1000,
  now + 4 * 60_000,
  now + 6 * 60_000,
  now - 6 * 366 * 86_400_000,
  now + 0.5,
  NaN,
  '2026-11-22T11:00:00Z',
  '2026-11-22',
  'yesterday',
  new Date(now - 5000),
  {},
  true,
];
const ids = [
  ABSENT,
  null,
  '01JD0000000000000000000000',
  '01JD000000000000000000000I',
  '01jd0000000000000000000000',
  '01JD',
  'Z'.repeat(26),
  26,
];
const extraKeys: Array<typeof ABSENT | [string, unknown]> = [ABSENT, ['note', 1], ['__proto__', 1], ['constructor', 1], ['k\u0000', 1]];

function pick<T>(next: () => number, xs: readonly T[]): T {
  return xs[Math.floor(next() * xs.length)]!;
}

function generate(next: () => number, mostlyGood: boolean): unknown {
  if (!mostlyGood && next() < 0.02) return pick(next, ['x', 1, null, [], [{ service: 'api' }]]);
  const good = mostlyGood && next() < 0.7;
  const r: Record<string, unknown> = {};
  const set = (key: string, value: unknown) => {
    if (value !== ABSENT) Object.defineProperty(r, key, { value, enumerable: true, writable: true, configurable: true });
  };
  set('service', good ? pick(next, ['api', 'compute', 'gpu', 'logins', 'storage']) : pick(next, services));
  set(
    'quantity',
    good ? pick(next, [1, 42, 0, 1.25, 0.5, 3, Math.floor(next() * 1e6), Math.round(next() * 1e9) / 1e6]) : pick(next, quantities),
  );
  set('metadata', good ? { endpoint: '/v1/x', method: 'POST', status: 201, direction: 'in' } : pick(next, metadatas));
  set('customerId', good ? pick(next, [ABSENT, 'acme', 'cust_9']) : pick(next, identifiers));
  set('userId', good ? pick(next, [ABSENT, 'u1']) : pick(next, identifiers));
  set('recordedAt', good ? now - Math.floor(next() * 86_400_000) : pick(next, times));
  set('id', good ? pick(next, [ABSENT, '01JD7ZZZZZZZZZZZZZZZZZZZZZ']) : pick(next, ids));
  set('source', good ? pick(next, [ABSENT, 'agent/linux']) : pick(next, identifiers));
  const extra = good ? ABSENT : pick(next, extraKeys);
  if (extra !== ABSENT) set(extra[0], extra[1]);
  return r;
}

function outcome(validate: typeof validateRecord, input: unknown, path: string): unknown {
  try {
    return { ok: validate(input, ctx, path) };
  } catch (err) {
    const e = err as Error & { field?: string; code?: string };
    return { error: e.constructor.name, code: e.code, field: e.field, message: e.message };
  }
}

describe('validateRecord fast path', () => {
  it.each([
    ['mostly well-formed records', 1, true],
    ['records with every kind of defect', 2, false],
  ])('gives the same records and the same errors as the general rules: %s', (_name, seed, mostlyGood) => {
    const next = prng(seed);
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const input = generate(next, mostlyGood);
      const path = i % 3 === 0 ? '' : `events[${i}]`;
      const expected = outcome(referenceValidate, input, path);
      expect(
        outcome(validateRecord, input, path),
        JSON.stringify(input, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)),
      ).toEqual(expected);
      if ('ok' in (expected as object)) accepted++;
    }
    // Both kinds of outcome were exercised.
    expect(accepted).toBeGreaterThan(mostlyGood ? 10_000 : 20);
    expect(accepted).toBeLessThan(20_000);
  });

  it('normalises fractional quantities to the same exact units', () => {
    const next = prng(3);
    for (let i = 0; i < 50_000; i++) {
      const scale = 10 ** Math.floor(next() * 8);
      const q = Math.round(next() * 1e12) / scale / 1e3;
      const input = { service: 'compute', quantity: q };
      expect(outcome(validateRecord, input, '')).toEqual(outcome(referenceValidate, input, ''));
    }
  });
});
