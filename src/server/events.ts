// The body of POST /v1/events, turned into record inputs for the writer: one event, an array,
// {events: [...]}, or CloudEvents (structured or batch). Field names in errors are the ones the
// caller sent: `events[3].data.quantity` for a CloudEvent, `customer_id` for snake_case.
import { invalid, renamed as renamedError, TallyError } from '../core/errors';
import { camelCaseRecord, eitherSpelling, hasSnakeCase } from '../core/records';
import { isSeedEvent, seedEventRecords, type NeededTemplate } from './shapes';
import { isObject } from '../core/objects';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export interface ParsedEvents {
  readonly inputs: unknown[];
  /** One event (not an array): errors name fields without an `events[i].` prefix. */
  readonly single: boolean;
  /** Per input, record field (or field path) → the name the caller used, where they differ. */
  readonly aliases: ReadonlyMap<number, Readonly<Record<string, string>>>;
  /** Per input, the position of its event, when an event became two inputs (else the same). */
  readonly events: readonly number[] | null;
  /** Templates the second seed's events need (llm, document), installed before they are recorded. */
  readonly templates: ReadonlySet<NeededTemplate>;
}

/**
 * A quantity is a JSON number, or a decimal string past 2^53 (validation parses it exactly).
 * JSON has no NaN or Infinity: such a quantity arrives as a string; say so plainly.
 */
function refuseNonFinite(q: unknown, field: string): void {
  if (typeof q === 'string' && /^[-+]?(nan|inf(inity)?)$/i.test(q.trim())) {
    throw invalid(field, `must be a finite number, not the string "${q.slice(0, 24)}": NaN and Infinity are not quantities`);
  }
}

function plainEvent(o: Record<string, unknown>, path: string, aliases: Record<string, string>): unknown {
  refuseNonFinite(o.quantity, `${path}quantity`);
  // The common case: camelCase only, passed through without a copy.
  return camelCaseRecord(o, path, aliases);
}

/** Fields of a CloudEvent's data that Tally reads itself; any other is kept as metadata. */
const CE_DATA_FIELDS = new Set(['quantity', 'value', 'metadata', 'customerId', 'customer_id', 'userId', 'user_id']);

/**
 * A CloudEvent (https://github.com/cloudevents/spec, JSON format): type → service,
 * subject → customer, time → recordedAt, data.quantity (or data.value, as OpenMeter sends it),
 * data.metadata and any other data field as metadata. The CloudEvent id is the idempotency key
 * when it is a ULID, else it is kept in metadata as `ce_id`.
 */
function cloudEvent(o: Record<string, unknown>, path: string, aliases: Record<string, string>): unknown {
  if (o.specversion !== '1.0') throw invalid(`${path}specversion`, 'must be "1.0" (CloudEvents 1.0)');
  if (o.data_base64 !== undefined) throw invalid(`${path}data_base64`, 'is not supported: send data as a JSON object');
  const data = o.data ?? {};
  if (!isObject(data)) throw invalid(`${path}data`, 'must be a JSON object with quantity (and metadata)');
  // OpenMeter's events carry the amount as data.value (or data.quantity) beside their dimensions.
  const valueKey = data.quantity === undefined && data.value !== undefined ? 'value' : 'quantity';
  refuseNonFinite(data[valueKey], `${path}data.${valueKey}`);
  const id = typeof o.id === 'string' && ULID.test(o.id) ? o.id : undefined;
  let metadata = data.metadata;
  const extra: Record<string, unknown> = {};
  if (o.id !== undefined && id === undefined) extra.ce_id = o.id;
  if (o.source !== undefined) extra.ce_source = o.source;
  for (const [k, v] of Object.entries(data)) if (!CE_DATA_FIELDS.has(k)) extra[k] = v;
  Object.assign(aliases, {
    service: 'type',
    quantity: `data.${valueKey}`,
    metadata: 'data.metadata',
    recordedAt: 'time',
    customerId: 'subject',
    userId: 'data.userId',
    id: 'id',
  });
  if (Object.keys(extra).length > 0 && (metadata === undefined || metadata === null || isObject(metadata))) {
    // A data field becomes metadata (unless data.metadata has it): named `data.k` in errors.
    for (const k of Object.keys(extra))
      if (metadata?.[k] === undefined && k !== 'ce_id' && k !== 'ce_source') aliases[`metadata.${k}`] = `data.${k}`;
    metadata = { ...extra, ...(metadata ?? {}) };
  }
  let customerId = o.subject;
  if (customerId === undefined) {
    customerId = eitherSpelling(data, 'customerId', ['customer_id'], `${path}data.`, aliases);
    aliases.customerId = `data.${aliases.customerId === 'customer_id' ? 'customer_id' : 'customerId'}`;
  }
  const userId = eitherSpelling(data, 'userId', ['user_id'], `${path}data.`, aliases);
  if (aliases.userId === 'user_id') aliases.userId = 'data.user_id';
  return {
    service: o.type,
    quantity: data[valueKey],
    metadata,
    customerId,
    userId,
    recordedAt: o.time,
    id,
    source: 'cloudevents',
  };
}

/**
 * An event `oneEvent` would pass through unchanged, with no alias and no error: no snake_case
 * field, not a CloudEvent, not a seed event, and a quantity that is not a string.
 */
function plainCamel(o: Record<string, unknown>): boolean {
  return (
    o.specversion === undefined &&
    typeof o.quantity !== 'string' &&
    !hasSnakeCase(o) &&
    (o.service_type === undefined || o.service !== undefined)
  );
}

function oneEvent(item: unknown, path: string, cloudEventsOnly: boolean, aliases: Record<string, string>): unknown {
  if (!isObject(item)) return item; // the writer's validation names it: "events[2]: must be an object"
  if (cloudEventsOnly || item.specversion !== undefined) return cloudEvent(item, path, aliases);
  return plainEvent(item, path, aliases);
}

/** Content types that carry CloudEvents in their structured (one) and batch (array) JSON forms. */
export const CLOUDEVENTS = 'application/cloudevents+json';
export const CLOUDEVENTS_BATCH = 'application/cloudevents-batch+json';

const NO_ALIASES: ReadonlyMap<number, Readonly<Record<string, string>>> = new Map();
const NO_TEMPLATES: ReadonlySet<NeededTemplate> = new Set();

/** The media type of a Content-Type header, lower case, without parameters. */
function mediaType(contentType: string | undefined): string {
  if (contentType === 'application/json') return contentType; // what nearly every client sends
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

export function parseEventsBody(body: unknown, contentType: string | undefined): ParsedEvents {
  const type = mediaType(contentType);
  let items: unknown[];
  let single = false;
  let prefix = 'events';
  if (type === CLOUDEVENTS_BATCH) {
    if (!Array.isArray(body)) throw invalid('body', 'a CloudEvents batch must be a JSON array of events');
    items = body;
  } else if (Array.isArray(body)) {
    items = body;
  } else if (isObject(body) && Array.isArray(body.events) && body.service === undefined && body.specversion === undefined) {
    items = body.events;
  } else if (isObject(body)) {
    items = [body];
    single = true;
    prefix = '';
  } else {
    throw invalid('body', 'must be an event object, an array of events, or {"events": [...]}');
  }
  if (items.length === 0) throw invalid('events', 'must contain at least one event');
  const cloudOnly = type === CLOUDEVENTS || type === CLOUDEVENTS_BATCH;
  // Built only for the events that need them (most requests need none).
  let aliases: Map<number, Readonly<Record<string, string>>> | null = null;
  let templates: Set<NeededTemplate> | null = null;
  let events: number[] | null = null;
  const inputs: unknown[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    // The common event (a plain camelCase object) is passed through as it is: no field path or
    // alias record is built for it, only for the events that need them.
    if (!cloudOnly && isObject(item) && plainCamel(item)) {
      inputs.push(item);
      events?.push(i);
      continue;
    }
    const path = single ? '' : `${prefix}[${i}].`;
    if (!cloudOnly && isObject(item) && isSeedEvent(item)) {
      // One seed-2 event may become two records (LLM input and output tokens).
      const seed = seedEventRecords(item, path);
      if (seed.template) (templates ??= new Set()).add(seed.template);
      if (seed.inputs.length !== 1) events ??= inputs.map((_, k) => k);
      seed.inputs.forEach((input, k) => {
        (aliases ??= new Map()).set(inputs.push(input) - 1, seed.aliases[k]!);
        events?.push(i);
      });
      continue;
    }
    const a: Record<string, string> = {};
    inputs.push(oneEvent(item, path, cloudOnly, a));
    events?.push(i);
    for (const _ in a) {
      (aliases ??= new Map()).set(inputs.length - 1, a);
      break;
    }
  }
  return { inputs, single, aliases: aliases ?? NO_ALIASES, events, templates: templates ?? NO_TEMPLATES };
}

/** How an error names the event of input `index`: `events[3]` (its position in the body), or nothing for one event. */
export function eventPrefix(parsed: Pick<ParsedEvents, 'single' | 'events'>, index: number): string {
  return parsed.single ? '' : `events[${parsed.events?.[index] ?? index}]`;
}

/**
 * Rewrites a validation error from the writer so it names the field as the caller sent it. The
 * writer names inputs `events[i]` (`record[i]` when one event became two); an alias may stand
 * for a field or for a path below one (`metadata.tokens` → `data.tokens`).
 */
export function renameField(err: TallyError, parsed: Pick<ParsedEvents, 'single' | 'aliases' | 'events'>): TallyError {
  const field = err.field;
  if (err.code !== 'invalid_input' || field === undefined) return err;
  const m = /^(?:events|records?)\[(\d+)\](?:\.(.*))?$/.exec(field);
  if (!m && !parsed.single) return err;
  const index = m ? Number(m[1]) : 0;
  const rest = m ? (m[2] ?? '') : field;
  const alias = parsed.aliases.get(index);
  let named = rest;
  // The longest aliased prefix of the path: `metadata.tokens` before `metadata`.
  for (let end = rest.length; alias !== undefined && end > 0; end = rest.lastIndexOf('.', end - 1)) {
    const name = alias[rest.slice(0, end)];
    if (name === undefined) continue;
    named = name + rest.slice(end);
    break;
  }
  const renamed = [eventPrefix(parsed, index), named].filter((s) => s !== '').join('.');
  if (renamed === field) return err;
  return renamedError(err, renamed);
}
