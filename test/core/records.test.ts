import { describe, expect, it } from 'vitest';
import { TallyError } from '../../src/core/errors';
import { validateRecord, validateRecords, type ValidationContext } from '../../src/core/records';
import { BUILTIN_SERVICES } from '../../src/core/services';

const now = Date.UTC(2026, 10, 22, 12);
const ctx: ValidationContext = {
  services: new Map(BUILTIN_SERVICES.map((s) => [s.name, s])),
  defaultCustomerId: 'acme',
  defaultSource: 'test',
  now,
};
const ok = { service: 'api', quantity: 1, metadata: { endpoint: '/users', method: 'GET', status: 200 } };

function fieldOf(input: unknown): string | undefined {
  try {
    validateRecord(input, ctx);
  } catch (err) {
    expect(err).toBeInstanceOf(TallyError);
    expect((err as TallyError).code).toBe('invalid_input');
    expect((err as TallyError).message.startsWith(`${(err as TallyError).field}: `)).toBe(true);
    return (err as TallyError).field;
  }
  return undefined;
}

describe('record validation (core API)', () => {
  it('accepts a good record and fills the defaults', () => {
    const r = validateRecord(ok, ctx);
    expect(r).toMatchObject({ service: 'api', quantity: 1, customerId: 'acme', userId: null, recordedAt: now, source: 'test', id: null });
    expect(JSON.parse(r.metadataJson)).toEqual(ok.metadata);
  });

  it.each([
    ['not an object', 'x', 'record'],
    ['an array', [ok], 'record'],
    ['no service', { quantity: 1 }, 'service'],
    ['unknown service', { ...ok, service: 'teleport' }, 'service'],
    ['quantity as words', { ...ok, quantity: 'one' }, 'quantity'],
    ['quantity as a negative decimal string', { ...ok, quantity: '-1' }, 'quantity'],
    ['quantity as an object', { ...ok, quantity: { value: 1 } }, 'quantity'],
    ['an unknown field', { ...ok, customer: 'acme' }, 'customer'],
    ['a snake_case field (the writer takes camelCase)', { ...ok, customer_id: 'acme' }, 'customer_id'],
    ['NaN', { ...ok, quantity: NaN }, 'quantity'],
    ['Infinity', { ...ok, quantity: Infinity }, 'quantity'],
    ['negative', { ...ok, quantity: -1 }, 'quantity'],
    ['fraction of a count', { ...ok, quantity: 0.5 }, 'quantity'],
    ['metadata as array', { ...ok, metadata: [1] }, 'metadata'],
    ['metadata as text', { ...ok, metadata: '{}' }, 'metadata'],
    ['metadata over 8 KiB', { ...ok, metadata: { ...ok.metadata, big: 'é'.repeat(4200) } }, 'metadata'],
    ['required field missing', { ...ok, metadata: { endpoint: '/users' } }, 'metadata.method'],
    ['required field empty', { ...ok, metadata: { endpoint: '', method: 'GET' } }, 'metadata.endpoint'],
    ['bandwidth without direction', { service: 'bandwidth', quantity: 10 }, 'metadata.direction'],
    ['customer with spaces', { ...ok, customerId: 'a b' }, 'customerId'],
    ['customer too long', { ...ok, customerId: 'a'.repeat(129) }, 'customerId'],
    ['user not text', { ...ok, userId: 7 }, 'userId'],
    ['time far in the future', { ...ok, recordedAt: now + 3_600_000 }, 'recordedAt'],
    ['time before the window', { ...ok, recordedAt: '2001-01-01T00:00:00Z' }, 'recordedAt'],
    ['time not a date', { ...ok, recordedAt: 'tuesday' }, 'recordedAt'],
    ['fractional ms', { ...ok, recordedAt: now - 0.5 }, 'recordedAt'],
    ['id not a ULID', { ...ok, id: 'abc' }, 'id'],
    ['source with spaces', { ...ok, source: 'my app' }, 'source'],
  ])('refuses %s, naming the field', (_what, input, field) => {
    expect(fieldOf(input)).toBe(field);
  });

  it('accepts fractional CPU-seconds and metadata just under the limit', () => {
    expect(fieldOf({ service: 'compute', quantity: 0.25 })).toBeUndefined();
    expect(fieldOf({ ...ok, metadata: { ...ok.metadata, pad: 'x'.repeat(8000) } })).toBeUndefined();
  });

  it('takes a quantity past 2^53 exactly as a decimal string, and refuses text that is not a decimal', () => {
    const r = validateRecord({ service: 'storage', quantity: '9007199254740993' }, ctx);
    expect(r.units).toBe(9007199254740993n);
    expect(validateRecord({ service: 'compute', quantity: ' 12.5 ' }, ctx).units).toBe(12_500_000n);
    expect(() => validateRecord({ service: 'storage', quantity: '9223372036854775808' }, ctx)).toThrow('quantity: is too large');
    expect(() => validateRecord({ service: 'storage', quantity: '1e999999999' }, ctx)).toThrow('quantity: must be a number or a decimal');
    expect(() => validateRecord({ service: 'storage', quantity: '1'.repeat(101) }, ctx)).toThrow(
      'quantity: must be a decimal string of at most',
    );
  });

  it('refuses a field it does not know, naming it and the field it likely meant', () => {
    const message = (input: unknown) => {
      try {
        validateRecord(input, ctx, 'records[3]');
      } catch (err) {
        return (err as TallyError).message;
      }
      return 'accepted';
    };
    expect(message({ ...ok, customer: 'acme' })).toBe('records[3].customer: unknown field; did you mean customerId?');
    expect(message({ ...ok, recorded_at: now })).toBe('records[3].recorded_at: unknown field; did you mean recordedAt?');
    expect(message({ ...ok, quantiy: 2 })).toBe('records[3].quantiy: unknown field; did you mean quantity?');
    expect(message({ ...ok, colour: 'red' })).toMatch(/^records\[3\]\.colour: unknown field \(a record has service, quantity, metadata/);
    // In-process, a field set to undefined carries nothing and is not a mistake.
    expect(message({ ...ok, note: undefined })).toBe('accepted');
  });

  it("names a bad value at the service's value property where it is, not as quantity", () => {
    const tokens = { ...BUILTIN_SERVICES[0]!, name: 'chat', requiredFields: [], valueProperty: '$.tokens' };
    const withTokens: ValidationContext = { ...ctx, services: new Map([[tokens.name, tokens]]) };
    expect(() => validateRecord({ service: 'chat', metadata: { tokens: -5 } }, withTokens)).toThrow('metadata.tokens: must be ≥ 0');
    expect(validateRecord({ service: 'chat', metadata: { tokens: 5 } }, withTokens).units).toBe(5n);
  });

  it('names the position of a bad record in a batch', () => {
    expect(() => validateRecords([ok, ok, { ...ok, quantity: -2 }], ctx, 'events')).toThrow('events[2].quantity: must be ≥ 0');
  });
});
