// A strict fake of OpenMeter's ingest endpoint: POST /api/v1/events with
// Content-Type application/cloudevents-batch+json, every event checked against the CloudEvents 1.0
// JSON schema (plus what the spec says in prose: specversion "1.0", extension names) and
// OpenMeter's own rule that subject is required. Answers 204; 400 application/problem+json for a
// bad batch (nothing of it stored); 401 without the API key. Deduplicates on id + source.
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { bearer, startFake, type FakeServer } from './server';

/** The CloudEvents 1.0 JSON schema (cloudevents/spec, cloudevents/formats/cloudevents.json). */
export const CLOUDEVENTS_SCHEMA = {
  $ref: '#/definitions/event',
  definitions: {
    specversion: { type: 'string', minLength: 1 },
    datacontenttype: { type: ['string', 'null'], minLength: 1 },
    data: { type: ['object', 'string', 'number', 'array', 'boolean', 'null'] },
    data_base64: { type: ['string', 'null'], contentEncoding: 'base64' },
    event: {
      properties: {
        specversion: { $ref: '#/definitions/specversion' },
        datacontenttype: { $ref: '#/definitions/datacontenttype' },
        data: { $ref: '#/definitions/data' },
        data_base64: { $ref: '#/definitions/data_base64' },
        id: { $ref: '#/definitions/id' },
        time: { $ref: '#/definitions/time' },
        dataschema: { $ref: '#/definitions/dataschema' },
        subject: { $ref: '#/definitions/subject' },
        type: { $ref: '#/definitions/type' },
        source: { $ref: '#/definitions/source' },
      },
      required: ['specversion', 'id', 'source', 'type'],
      type: 'object',
    },
    id: { type: 'string', minLength: 1 },
    time: { format: 'date-time', type: ['string', 'null'], minLength: 1 },
    dataschema: { type: ['string', 'null'], format: 'uri', minLength: 1 },
    subject: { type: ['string', 'null'], minLength: 1 },
    type: { type: 'string', minLength: 1 },
    source: { format: 'uri-reference', type: 'string', minLength: 1 },
  },
  type: 'object',
};

const ajv = new Ajv({ allErrors: false, strict: false });
addFormats(ajv);
const validateEvent = ajv.compile(CLOUDEVENTS_SCHEMA);
const CONTEXT_ATTRIBUTES = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'subject',
  'time',
  'datacontenttype',
  'dataschema',
  'data',
  'data_base64',
]);

export interface OpenMeterFake extends FakeServer {
  /** Stored events, keyed by id + source. */
  readonly events: Map<string, Record<string, unknown>>;
  /** Ids the fake refuses (as if the event failed validation), to exercise splitting. */
  readonly refuseIds: Set<string>;
}

function problem(status: number, title: string, detail: string) {
  return { status, headers: { 'content-type': 'application/problem+json' }, body: { type: 'about:blank', title, status, detail } };
}

export function checkCloudEvent(e: unknown, i: number): string | null {
  if (!validateEvent(e)) return `events[${i}]: ${ajv.errorsText(validateEvent.errors)}`;
  const ev = e as Record<string, unknown>;
  if (ev.specversion !== '1.0') return `events[${i}].specversion: must be "1.0"`;
  for (const k of Object.keys(ev)) {
    if (!CONTEXT_ATTRIBUTES.has(k) && !/^[a-z0-9]{1,20}$/.test(k))
      return `events[${i}].${k}: not a valid CloudEvents extension attribute name`;
  }
  if (ev.data !== undefined && ev.datacontenttype !== undefined && ev.datacontenttype !== 'application/json')
    return `events[${i}].datacontenttype: JSON data needs application/json`;
  if (typeof ev.subject !== 'string') return `events[${i}].subject: OpenMeter requires a subject`;
  return null;
}

export async function startOpenMeterFake(apiKey = 'om_test_key'): Promise<OpenMeterFake> {
  const events = new Map<string, Record<string, unknown>>();
  const refuseIds = new Set<string>();
  const server = await startFake((req) => {
    if (req.method !== 'POST' || req.path !== '/api/v1/events') return problem(404, 'Not Found', `${req.method} ${req.path}`);
    if (bearer(req) !== apiKey) return problem(401, 'Unauthorized', 'invalid API key');
    const ct = String(req.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim();
    let body: unknown;
    try {
      body = JSON.parse(req.body);
    } catch {
      return problem(400, 'Bad Request', 'request body is not JSON');
    }
    let batch: unknown[];
    if (ct === 'application/cloudevents-batch+json') {
      if (!Array.isArray(body)) return problem(400, 'Bad Request', 'a batch must be a JSON array');
      batch = body;
    } else if (ct === 'application/cloudevents+json') batch = [body];
    else return problem(415, 'Unsupported Media Type', `content type ${ct}`);
    if (batch.length === 0) return problem(400, 'Bad Request', 'empty batch');
    for (const [i, e] of batch.entries()) {
      const why = checkCloudEvent(e, i);
      if (why) return problem(400, 'Bad Request', why);
      if (refuseIds.has((e as { id: string }).id)) return problem(400, 'Bad Request', `events[${i}]: refused`);
    }
    for (const e of batch as Record<string, unknown>[]) {
      const key = `${e.source as string}\u0000${e.id as string}`;
      if (!events.has(key)) events.set(key, e);
    }
    return { status: 204 };
  });
  return Object.assign(server, { events, refuseIds });
}
