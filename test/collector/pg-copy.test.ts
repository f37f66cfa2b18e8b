// The PostgreSQL store's COPY ingest stores exactly what the jsonb path stores: the same rows
// (quantities exact past 2^53, metadata as jsonb's text), the same rollups, each record once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CollectorDb } from '../../src/collector/db';
import { storeBatch } from '../../src/collector/ingest';
import { copyRows, parsedIsExact, rawFields } from '../../src/collector/pg-copy';
import { pgStore } from '../../src/collector/pg-store';
import type { ValidBatch } from '../../src/collector/store';
import { collectorDb, storedRows, validBatch } from '../helpers/collector-store';
import { startPostgres, type TestPostgres } from '../helpers/postgres';

const T0 = Date.UTC(2026, 10, 3, 10);
const NOW = Date.UTC(2026, 10, 4);
let pgServer: TestPostgres;
let copyDb: CollectorDb;
let jsonbDb: CollectorDb;

const id = (n: number) => `01JCAPY${'Z'.repeat(15)}${String(n).padStart(4, '0')}`;

/** One record as an agent writes it, with the quantity and metadata as raw JSON text. */
function record(n: number, quantity: string, metadata = '{"endpoint":"/users"}', host = 'host-c') {
  return (
    `{"id":"${id(n)}","recordedAt":${T0 + n * 3_600_000},"customerId":"acme","userId":null,"hostId":"${host}","service":"api",` +
    `"quantity":${quantity},"unitPrice":"0.0001","costNanos":100000,"metadata":${metadata},"source":"api"}`
  );
}

const batch = (text: string): ValidBatch => validBatch(text, 'host-c');

const tricky = [
  record(1, '9223372036854775807'),
  record(2, '9007199254740993', '{"big": 12345678901234567890, "f": 1.50, "deep": {"quantity": 7, "metadata": {}}}'),
  record(3, '0.1234565', '{"s":"tab\\there, \\"quoted\\" \\\\ \\u00e9 é","n":null}'),
  record(4, '-1'), // refused alone
  // Pretty-printed, with a key given twice (the last one counts, as JSON.parse and jsonb read it).
  `{\n\t"id": "${id(5)}", "recordedAt": ${T0}, "customerId": "acme", "userId": "u-1", "hostId": "host-c",\r\n  "service": "api",` +
    ` "quantity": 5, "quantity": 2.5e3, "unitPrice": "0.0001", "costNanos": 7, "metadata": { "a" : [1, {"b": "}"}] }, "source": "api" }`,
  record(1, '9223372036854775807'), // the same id twice in one batch
];
const body = `{"records":[${tricky.join(',')}]}`;

const rows = storedRows;

beforeAll(async () => {
  pgServer = await startPostgres();
  copyDb = await collectorDb(pgServer, 'collector_copy');
  jsonbDb = await collectorDb(pgServer, 'collector_copy_jsonb');
});

afterAll(async () => {
  await copyDb?.close();
  await jsonbDb?.close();
  await pgServer?.stop();
});

describe('raw fields of a request body', () => {
  it("finds each record's quantity and metadata text, whatever the spacing, nesting or strings hold", () => {
    expect(rawFields(body)).toEqual({
      quantity: ['9223372036854775807', '9007199254740993', '0.1234565', '-1', '2.5e3', '9223372036854775807'],
      metadata: [
        '{"endpoint":"/users"}',
        '{"big": 12345678901234567890, "f": 1.50, "deep": {"quantity": 7, "metadata": {}}}',
        '{"s":"tab\\there, \\"quoted\\" \\\\ \\u00e9 é","n":null}',
        '{"endpoint":"/users"}',
        '{ "a" : [1, {"b": "}"}] }',
        '{"endpoint":"/users"}',
      ],
    });
  });

  it('does not read raw fields under escaped keys (the parsed values or the jsonb path serve)', () => {
    const escaped = `{"records":[${record(9, '1').replace('"quantity"', '"quan\\u0074ity"')}]}`;
    expect(rawFields(escaped)).toBeNull();
    expect(copyRows(batch(escaped))).toContain('\tapi\t1\t0.0001\t'); // short numbers: the parsed values
    expect(copyRows(batch(escaped.replace('"/users"', '12345678901234567')))).toBeNull();
  });
});

describe('COPY ingest', () => {
  it('stores the same rows and rollups as the jsonb path, each record once', async () => {
    const b = batch(body);
    expect(parsedIsExact(body)).toBe(false); // 2^63 - 1: read from the body's text
    expect(b.skip).toEqual([3]);
    expect(copyRows(b)).not.toBeNull(); // this body takes the COPY path
    const store = pgStore(copyDb, { staging: true });
    expect(await store.store(b, 'host-c', NOW)).toBe(4);
    expect(await storeBatch(jsonbDb.db, b.text, b.skip, NOW)).toBe(4);

    const copied = await rows(copyDb);
    expect(copied).toEqual(await rows(jsonbDb));
    expect(copied.records.map((r) => r.quantity)).toEqual([
      '9223372036854775807.000000',
      '9007199254740993.000000',
      '0.123457',
      '2500.000000',
    ]);
    expect(copied.records[1].metadata).toBe('{"f": 1.50, "big": 12345678901234567890, "deep": {"metadata": {}, "quantity": 7}}');

    // Sent again (a retry after a lost answer): nothing new, nothing counted twice.
    expect(await store.store(b, 'host-c', NOW + 1)).toBe(0);
    expect(await rows(copyDb)).toEqual(copied);
  });

  it('stores a body of short numbers from its parsed values, as the jsonb path does', async () => {
    const plain = [
      record(20, '0.1234565', '{"s":"tab\\t \\"q\\" \\\\ \\u00fc ü","n":null,"arr":[1,2.5,{"x":true}],"neg":-3,"z":0}'),
      record(21, '0.0000001'),
      `{ "id" : "${id(22)}",\n "recordedAt": ${T0 + 7_200_000}, "customerId": "acme", "userId": "u-2", "hostId": "host-c", "service": "api",` +
        ` "quantity": 4, "quantity": 12.75, "unitPrice": "0.0001", "costNanos": 12, "metadata": {"k": "v", "k": "w"}, "source": "api" }`,
    ];
    const text = `{"records":[${plain.join(',')}]}`;
    expect(parsedIsExact(text)).toBe(true);
    // Long digit runs, exponents and trailing zeros inside strings do not count; in numbers they do.
    expect(parsedIsExact('{"records":[{"unitPrice":"0.00000000000000350","id":"1e5","m":{"a-1234567890123456":"x"}}]}')).toBe(true);
    for (const n of ['1234567890123456', '0.1234567890123456', '1e5', '1.5E-3', '1.50', '2.0 ', '-7.10'])
      expect(parsedIsExact(`{"records":[{"m":{"a":[1, ${n}]}}]}`), n).toBe(false);
    const b = batch(text);
    expect(await pgStore(copyDb, { staging: true }).store(b, 'host-c', NOW)).toBe(3);
    expect(await storeBatch(jsonbDb.db, b.text, b.skip, NOW)).toBe(3);
    const copied = await rows(copyDb);
    expect(copied).toEqual(await rows(jsonbDb));
    expect(copied.records.slice(-3).map((r) => [r.quantity, r.metadata])).toEqual([
      ['0.123457', '{"n": null, "s": "tab\\t \\"q\\" \\\\ ü ü", "z": 0, "arr": [1, 2.5, {"x": true}], "neg": -3}'],
      ['0.000000', '{"endpoint": "/users"}'],
      ['12.750000', '{"k": "w"}'],
    ]);
  });

  it('stores a batch sent twice at the same time once (a retry racing the first request)', async () => {
    const text = `{"records":[${[30, 31, 32].map((n) => record(n, String(n))).join(',')}]}`;
    const store = pgStore(copyDb, { staging: true });
    const counts = await Promise.all([store.store(batch(text), 'host-c', NOW), store.store(batch(text), 'host-c', NOW)]);
    expect(counts.sort()).toEqual([0, 3]);
    const held = await copyDb.pool.query('SELECT count(*)::int AS n FROM usage_records WHERE id = ANY($1)', [[30, 31, 32].map(id)]);
    expect(held.rows).toEqual([{ n: 3 }]);
    const hours = await copyDb.pool.query(
      "SELECT sum(event_count)::int AS n FROM rollups WHERE period = 'hour' AND bucket_start IN ($1, $2, $3)",
      [30, 31, 32].map((n) => T0 + n * 3_600_000),
    );
    expect(hours.rows).toEqual([{ n: 3 }]);
  });

  it('stores bodies it cannot read raw through the jsonb path', async () => {
    const text = `{"records":[${record(10, '3', '{"n":12345678901234567}').replace('"quantity"', '"quan\\u0074ity"')}]}`;
    const escaped = batch(text);
    expect(copyRows(escaped)).toBeNull();
    expect(await pgStore(copyDb, { staging: true }).store(escaped, 'host-c', NOW)).toBe(1);
    const stored = await copyDb.pool.query('SELECT quantity::text AS q FROM usage_records WHERE id = $1', [id(10)]);
    expect(stored.rows).toEqual([{ q: '3.000000' }]);
  });
});
