// A request body in exactly the form agents write it (core/sync/native.ts: fixed key order, no
// spaces, strings without escapes), read straight into the direct COPY's rows and rollups
// (pg-direct.ts) without parsing it into objects: JSON.parse of 10 000 records and the garbage it
// leaves were the collector's largest cost. Every field gets the checks readBatch (ingest.ts) makes,
// or stricter ones; anything else (another form, a record readBatch would refuse, another host's
// record, metadata not surely printed as jsonb does) returns null and the body takes the ordinary
// path, which parses it and answers as before. Metadata is parsed on its own, once per distinct text.
import { isDecimalString } from '../core/money';
import { CUSTOMER_ID } from '../core/services';
import { MAX_QUANTITY, MAX_RECORDS_PER_REQUEST, SERVICE, SOURCE, ULID, metadataTooBig } from './ingest';
import { parsedIsExact, skipValue } from './pg-copy';
import { BACKSLASHES, CHUNK_ROWS, foldRecord, jsonbText, microText, rollupRows, toMicro, type DirectBatch, type Hours } from './pg-direct';

const HEAD = '{"records":[';
// A whole number JSON.parse reads exactly (at most 15 digits, no leading zero): safe, ≥ 0.
const WHOLE = /^(?:0|[1-9]\d{0,14})$/;
// A quantity: digits, maybe a fraction; no sign, exponent or leading zero (read exactly from its text).
const QUANTITY = /^(?:0|[1-9]\d{0,39})(?:\.\d{1,40})?$/;
const SHORT_WHOLE = /^\d{1,9}$/;
const PRICE = /^[0-9.]+$/;

// Metadata text → its jsonb text with COPY's escapes, or null (not sure: the ordinary path).
// Agents send the same few metadata objects again and again; bounded, cleared when full.
const METADATA = new Map<string, string | null>();

function metadataText(text: string): string | null {
  const known = METADATA.get(text);
  if (known !== undefined) return known;
  let out: string | null = null;
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && !metadataTooBig(v as Record<string, unknown>)) {
      out = jsonbText(v, parsedIsExact(text));
      if (out !== null && out.includes('\\')) out = out.replace(BACKSLASHES, '\\\\');
    }
  } catch {
    out = null;
  }
  if (METADATA.size >= 10_000) METADATA.clear();
  METADATA.set(text, out);
  return out;
}

/**
 * The records of `text` (every one valid and of `hostId`) as the direct COPY's rows with
 * `receivedAt`, or null. Each chunk of rows is encoded as soon as it is complete: the parts of
 * 10 000 rows kept as strings until the COPY would outlive the young generation (and cost more in
 * garbage collection than JSON.parse).
 */
export function scanBatch(text: string, hostId: string, receivedAt: number): DirectBatch | null {
  if (!text.startsWith(HEAD) || !text.endsWith(']}') || !CUSTOMER_ID.test(hostId)) return null;
  const end = text.length - 2;
  let i = HEAD.length;
  if (i === end) return null;
  const hours: Hours = new Map();
  const chunks: Buffer[] = [];
  const tail = '\t' + Math.trunc(receivedAt) + '\n';
  let out = '';
  let count = 0;
  let j: number;

  for (;;) {
    if (!text.startsWith('{"id":"', i)) return null;
    i += 7;
    const id = text.slice(i, i + 26);
    i += 26;
    if (!ULID.test(id) || !text.startsWith('","recordedAt":', i)) return null;
    i += 15;
    if ((j = text.indexOf(',', i)) < 0) return null;
    const at = text.slice(i, j);
    i = j;
    if (!WHOLE.test(at) || !text.startsWith(',"customerId":"', i)) return null;
    i += 15;
    if ((j = text.indexOf('"', i)) < 0) return null;
    const customerId = text.slice(i, j);
    i = j + 1;
    if (!CUSTOMER_ID.test(customerId) || !text.startsWith(',"userId":', i)) return null;
    i += 10;
    let userId = '\\N';
    if (text.startsWith('null', i)) i += 4;
    else {
      if (text.charCodeAt(i) !== 34 || (j = text.indexOf('"', i + 1)) < 0) return null;
      userId = text.slice(i + 1, j);
      i = j + 1;
      if (!CUSTOMER_ID.test(userId)) return null;
    }
    if (!text.startsWith(',"hostId":"', i)) return null;
    i += 11;
    // Another host's record: the ordinary path refuses the request, naming it.
    if (!text.startsWith(hostId, i) || !text.startsWith('","service":"', i + hostId.length)) return null;
    i += hostId.length + 13;
    if ((j = text.indexOf('"', i)) < 0) return null;
    const service = text.slice(i, j);
    i = j + 1;
    if (!SERVICE.test(service) || !text.startsWith(',"quantity":', i)) return null;
    i += 12;
    if ((j = text.indexOf(',', i)) < 0) return null;
    const q = text.slice(i, j);
    i = j;
    if (!QUANTITY.test(q) || Number(q) > MAX_QUANTITY || !text.startsWith(',"unitPrice":"', i)) return null;
    i += 14;
    const whole = SHORT_WHOLE.test(q);
    const micro = whole ? Number(q) * 1e6 : toMicro(q);
    if (micro === null || (j = text.indexOf('"', i)) < 0) return null;
    const price = text.slice(i, j);
    i = j + 1;
    if (!PRICE.test(price) || !isDecimalString(price) || !text.startsWith(',"costNanos":', i)) return null;
    i += 13;
    if ((j = text.indexOf(',', i)) < 0) return null;
    const cost = text.slice(i, j);
    i = j;
    if (!WHOLE.test(cost) || !text.startsWith(',"metadata":{', i)) return null;
    i += 12;
    j = skipValue(text, i);
    const metadata = metadataText(text.slice(i, j));
    i = j;
    if (metadata === null || !text.startsWith(',"source":"', i)) return null;
    i += 11;
    if ((j = text.indexOf('"', i)) < 0) return null;
    const source = text.slice(i, j);
    i = j + 1;
    if (!SOURCE.test(source) || text.charCodeAt(i) !== 125) return null;
    i++;
    foldRecord(hours, Number(at), customerId, service, micro, Number(cost));
    out +=
      id +
      '\t' +
      at +
      '\t' +
      customerId +
      '\t' +
      userId +
      '\t' +
      hostId +
      '\t' +
      service +
      '\t' +
      (whole ? q + '.000000' : microText(micro)) +
      '\t' +
      price +
      '\t' +
      cost +
      '\t' +
      metadata +
      '\t' +
      source +
      tail;
    if (++count % CHUNK_ROWS === 0) {
      chunks.push(Buffer.from(out));
      out = '';
    }
    if (count > MAX_RECORDS_PER_REQUEST) return null;
    if (i === end) break;
    if (text.charCodeAt(i) !== 44) return null;
    i++;
  }
  if (out) chunks.push(Buffer.from(out));
  return { count, rows: () => chunks, rollups: rollupRows(hours) };
}
