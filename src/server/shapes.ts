// Other callers' shapes, turned into Tally's own before validation:
//  - the second seed's event {tenant_id, user_id, service_type, service_provider, event_type,
//    metadata, metrics{…}}: llm_service → llm_input + llm_output, document_service → document,
//    api_service → api, any other service_type → the service of that name;
//  - a CloudEvent in binary content mode (attributes in ce-* headers, the body is `data`), as the
//    official CloudEvents SDK sends by default.
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { invalid } from '../core/errors';
import { eitherSpelling } from '../core/records';
import { isObject } from './errors';

/** A template a seed-2 event needs installed (its services are not built in). */
export type NeededTemplate = 'llm' | 'document';

export function isSeedEvent(o: Record<string, unknown>): boolean {
  return o.service_type !== undefined && o.service === undefined && o.specversion === undefined;
}

function metric(metrics: Record<string, unknown>, name: string, path: string): number | undefined {
  const v = metrics[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw invalid(`${path}metrics.${name}`, 'must be a finite number ≥ 0');
  return v;
}

function text(o: Record<string, unknown>, name: string, path: string): string | undefined {
  const v = o[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '') throw invalid(`${path}${name}`, 'must be a non-empty string');
  return v;
}

/** Metrics not turned into a quantity stay with the record (latency_ms, status_code…). */
function leftover(metrics: Record<string, unknown>, used: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metrics)) if (!used.includes(k)) out[k] = v;
  return out;
}

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** A seed-2 event's records, and per record its fields' names as the caller sent them. */
export interface SeedRecords {
  readonly inputs: unknown[];
  readonly aliases: Array<Readonly<Record<string, string>>>;
  readonly template?: NeededTemplate;
}

/**
 * One seed-2 event → Tally record inputs (one, or two for an LLM call), and a template it needs.
 * A caller's ULID `id` makes a retry idempotent: an LLM call's output record takes an id derived
 * from it (stableUlid), the same on every retry.
 */
export function seedEventRecords(o: Record<string, unknown>, path: string): SeedRecords {
  const serviceType = text(o, 'service_type', path)!;
  const metrics = o.metrics ?? {};
  if (!isObject(metrics)) throw invalid(`${path}metrics`, 'must be an object of numbers, e.g. {"input_tokens": 150}');
  const given = o.metadata ?? {};
  if (!isObject(given)) throw invalid(`${path}metadata`, 'must be an object');
  const provider = text(o, 'service_provider', path);
  const eventType = text(o, 'event_type', path);
  const id = o.id ?? undefined;
  if (id !== undefined && (typeof id !== 'string' || !ULID.test(id)))
    throw invalid(`${path}id`, 'must be a ULID (26 characters, Crockford base32): the key that makes a retry count once');
  // Each field in the seed's spelling or in Tally's; two spellings of one field must agree.
  const names: Record<string, string> = {};
  const common = {
    customerId: eitherSpelling(o, 'tenant_id', ['customer_id', 'customerId'], path, names),
    userId: eitherSpelling(o, 'user_id', ['userId'], path, names),
    recordedAt: eitherSpelling(o, 'timestamp', ['recorded_at', 'recordedAt'], path, names),
    source: 'seed2',
  };
  const aliasesFor = (metric: string | undefined): Readonly<Record<string, string>> => ({
    customerId: names.tenant_id ?? 'tenant_id',
    userId: names.user_id ?? 'user_id',
    recordedAt: names.timestamp ?? 'timestamp',
    service: 'service_type',
    quantity: metric === undefined ? 'metrics' : `metrics.${metric}`,
  });
  const meta = (used: readonly string[], extra: Record<string, unknown> = {}) => ({
    ...leftover(metrics, used),
    ...given,
    ...(provider !== undefined && { provider }),
    ...(eventType !== undefined && { event_type: eventType }),
    ...extra,
  });
  switch (serviceType) {
    case 'llm_service': {
      if (typeof given.model !== 'string') throw invalid(`${path}metadata.model`, 'is required for llm_service (e.g. "gpt-4")');
      const input = metric(metrics, 'input_tokens', path);
      const output = metric(metrics, 'output_tokens', path);
      if (input === undefined && output === undefined)
        throw invalid(`${path}metrics.input_tokens`, 'is required for llm_service (or output_tokens)');
      const m = meta(['input_tokens', 'output_tokens'], { provider: provider ?? given.provider ?? 'unknown' });
      const inputs = [];
      const aliases = [];
      if (input !== undefined) {
        inputs.push({ ...common, id, service: 'llm_input', quantity: input, metadata: m });
        aliases.push(aliasesFor('input_tokens'));
      }
      if (output !== undefined) {
        const outputId = id === undefined ? undefined : stableUlid('seed2:llm_output', id);
        inputs.push({ ...common, id: outputId, service: 'llm_output', quantity: output, metadata: m });
        aliases.push(aliasesFor('output_tokens'));
      }
      return { inputs, aliases, template: 'llm' };
    }
    case 'document_service': {
      const pages = metric(metrics, 'pages_processed', path);
      if (pages === undefined) throw invalid(`${path}metrics.pages_processed`, 'is required for document_service');
      const documentType = given.document_type ?? o.document_type;
      if (typeof documentType !== 'string')
        throw invalid(`${path}metadata.document_type`, 'is required for document_service (e.g. "invoice")');
      const processing = o.processing_type === undefined ? {} : { processing_type: o.processing_type };
      const metadata = meta(['pages_processed'], { document_type: documentType, ...processing });
      return {
        inputs: [{ ...common, id, service: 'document', quantity: pages, metadata }],
        aliases: [aliasesFor('pages_processed')],
        template: 'document',
      };
    }
    case 'api_service':
      return {
        inputs: [{ ...common, id, service: 'api', quantity: metric(metrics, 'requests', path) ?? 1, metadata: meta(['requests']) }],
        aliases: [aliasesFor('requests')],
      };
    default: {
      const named = ['quantity', 'value', 'count'].find((k) => metrics[k] !== undefined);
      const quantity = named !== undefined ? metric(metrics, named, path) : 1;
      return {
        inputs: [{ ...common, id, service: serviceType, quantity, metadata: meta(named === undefined ? [] : [named]) }],
        aliases: [aliasesFor(named)],
      };
    }
  }
}

const CE_ATTRIBUTES = ['id', 'source', 'type', 'subject', 'time', 'specversion', 'datacontenttype'];

/** A binary-mode CloudEvent as its structured form, or null when the request is not one. */
export function binaryCloudEvent(headers: IncomingHttpHeaders, body: unknown): Record<string, unknown> | null {
  const version = headers['ce-specversion'];
  if (typeof version !== 'string') return null;
  const event: Record<string, unknown> = { data: body };
  for (const name of CE_ATTRIBUTES) {
    const v = headers[`ce-${name}`];
    if (typeof v === 'string') event[name] = v;
  }
  return event;
}

/** A JSON number as an exact decimal string (3e-7 → "0.0000003"), or the string as given. */
export function decimalText(v: unknown, field: string): string {
  if (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v)) return v;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw invalid(field, 'must be a price ≥ 0, e.g. 0.001');
  const [mantissa, exp] = String(v).split('e') as [string, string | undefined];
  if (exp === undefined) return mantissa;
  const [int, frac = ''] = mantissa.split('.') as [string, string | undefined];
  const digits = int + frac;
  const point = int.length + Number(exp);
  if (point <= 0) return `0.${'0'.repeat(-point)}${digits}`.replace(/\.?0+$/, '') || '0';
  if (point >= digits.length) return digits + '0'.repeat(point - digits.length);
  return `${digits.slice(0, point)}.${digits.slice(point)}`;
}

export interface RegistryPlan {
  readonly template?: NeededTemplate;
  readonly service?: {
    name: string;
    displayName: string;
    baseUnit: string;
    displayUnit: string;
    requiredFields: string[];
    breakdownKeys: string[];
  };
  /** Price specs per service; `since0`: from the beginning (a service that is new). */
  readonly prices: ReadonlyArray<{ service: string; spec: PriceSpecLike; since0: boolean }>;
}

type PriceSpecLike =
  { model: 'per_unit'; unitPrice: string } | { model: 'dimension'; field: string; rates: Record<string, string>; defaultRate?: string };

export function isRegistryBody(body: unknown): body is Record<string, unknown> {
  return isObject(body) && body.service_type !== undefined && body.service === undefined && body.template === undefined;
}

const DEFAULT_RATE_KEYS = ['standard', 'default'];

/**
 * `rates` → one price spec per part ('' for a service with one price, 'input'/'output' for an
 * LLM): one rate is a per-unit price; several are rates per model (or per provider, when every
 * key names one of `providers`), with `standard`/`default` as the rate for the others.
 */
function ratesToSpecs(rates: Record<string, unknown>, providers: readonly string[], parts: readonly string[]): Map<string, PriceSpecLike> {
  const perPart = new Map<string, Record<string, string>>(parts.map((p) => [p, {}]));
  for (const [key, v] of Object.entries(rates)) {
    const field = `billing_config.rates.${key}`;
    for (const part of parts) {
      const value = isObject(v) && part !== '' ? v[part] : v;
      if (value === undefined) throw invalid(`${field}.${part}`, `is required: a rate for ${part} tokens`);
      perPart.get(part)![key] = decimalText(value, part !== '' && isObject(v) ? `${field}.${part}` : field);
    }
  }
  const out = new Map<string, PriceSpecLike>();
  for (const [part, table] of perPart) {
    const keys = Object.keys(table);
    const defaultKey = keys.find((k) => DEFAULT_RATE_KEYS.includes(k));
    const named = keys.filter((k) => !DEFAULT_RATE_KEYS.includes(k));
    if (named.length === 0) {
      out.set(part, { model: 'per_unit', unitPrice: table[defaultKey!]! });
      continue;
    }
    const field = providers.length > 0 && named.every((k) => providers.includes(k)) ? 'provider' : 'model';
    const spec: PriceSpecLike = { model: 'dimension', field, rates: Object.fromEntries(named.map((k) => [k, table[k]!])) };
    out.set(part, defaultKey === undefined ? spec : { ...spec, defaultRate: table[defaultKey]! });
  }
  return out;
}

function stringList(v: unknown, field: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalid(field, 'must be an array of strings');
  return v as string[];
}

/** The second seed's registry body: {service_type, service_name, providers, required_fields, billing_config}. */
export function parseRegistryBody(body: Record<string, unknown>): RegistryPlan {
  const serviceType = text(body, 'service_type', '')!;
  const providers = stringList(body.providers, 'providers');
  const required = stringList(body.required_fields, 'required_fields');
  const billing = body.billing_config ?? {};
  if (!isObject(billing)) throw invalid('billing_config', 'must be an object {unit, calculation_method, rates}');
  const method = billing.calculation_method;
  if (method !== undefined && method !== 'multiply' && method !== 'per_unit')
    throw invalid('billing_config.calculation_method', `"${String(method).slice(0, 40)}" is not supported (multiply: quantity × rate)`);
  const rates = billing.rates ?? {};
  if (!isObject(rates)) throw invalid('billing_config.rates', 'must be an object of rates, e.g. {"gpt-4": 0.00003}');
  const hasRates = Object.keys(rates).length > 0;
  const builtin: Record<string, { template?: NeededTemplate; services: Array<[string, string]> }> = {
    llm_service: {
      template: 'llm',
      services: [
        ['llm_input', 'input'],
        ['llm_output', 'output'],
      ],
    },
    document_service: { template: 'document', services: [['document', '']] },
    api_service: { services: [['api', '']] },
  };
  const known = builtin[serviceType];
  if (known) {
    const specs = hasRates
      ? ratesToSpecs(
          rates,
          providers,
          known.services.map(([, part]) => part),
        )
      : new Map();
    const prices = known.services.flatMap(([service, part]) =>
      specs.has(part) ? [{ service, spec: specs.get(part)!, since0: false }] : [],
    );
    return { ...(known.template && { template: known.template }), prices };
  }
  const unit = billing.unit ?? 'units';
  if (typeof unit !== 'string' || unit === '') throw invalid('billing_config.unit', 'must be a unit name, e.g. "predictions"');
  const service = {
    name: serviceType,
    displayName: typeof body.service_name === 'string' ? body.service_name : serviceType,
    baseUnit: unit,
    displayUnit: unit,
    requiredFields: required,
    breakdownKeys: providers.length > 0 ? ['provider', ...required.filter((r) => r !== 'provider')] : required,
  };
  const spec = hasRates ? ratesToSpecs(rates, providers, ['']).get('') : undefined;
  return { service, prices: spec ? [{ service: serviceType, spec, since0: true }] : [] };
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A ULID that stands for `parts`: 128 bits of a SHA-256 of them. The same parts give the same id. */
export function stableUlid(...parts: string[]): string {
  const hash = createHash('sha256').update(parts.join('\u0000'), 'utf8').digest();
  const value = BigInt(`0x${hash.subarray(0, 16).toString('hex')}`);
  let out = '';
  for (let i = 25; i >= 0; i--) out += CROCKFORD[Number((value >> BigInt(5 * i)) & 31n)];
  return out;
}

/**
 * A ULID that stands for a CloudEvent's (source, id), the pair the spec makes unique. Not the
 * event time: OpenMeter's SDK stamps a new time on each retry of the same id. The same event
 * sent twice is then stored once.
 */
export function ulidForCloudEvent(source: string, id: string): string {
  return stableUlid(source, id);
}

/** Gives each CloudEvent without a ULID id the one its (source, id) stands for. */
export function stableCloudEventIds(inputs: unknown[]): void {
  for (const input of inputs) {
    if (!isObject(input) || input.id !== undefined || input.source !== 'cloudevents' || !isObject(input.metadata)) continue;
    const { ce_id, ce_source } = input.metadata;
    if (typeof ce_id === 'string') input.id = ulidForCloudEvent(typeof ce_source === 'string' ? ce_source : '', ce_id);
  }
}
