// The service registry's domain: the six built-in services, the ready templates (llm,
// document), and the unit conversions between base quantities and what people read.
// GB is GiB (2^30 bytes) everywhere in Tally.
import type { Aggregation } from './aggregation';
import { decimalsOf } from './quantity';

export const GIB = 2 ** 30;
export const SECONDS_PER_HOUR = 3600;

export interface ServiceDefinition {
  readonly name: string;
  readonly displayName: string;
  /** What a quantity counts: the unit records are stored in. */
  readonly baseUnit: string;
  /** What people read in reports, e.g. 'GB-hours'. */
  readonly displayUnit: string;
  /** Base units per display unit (GB-hours: 2^30 × 3600 byte-seconds). */
  readonly displayFactor: number;
  /** Whether a quantity must be a whole number of base units. */
  readonly integerOnly: boolean;
  /** Metadata keys every record of this service must carry. */
  readonly requiredFields: readonly string[];
  /** Metadata keys reports break usage down by. */
  readonly breakdownKeys: readonly string[];
  readonly builtin: boolean;
  /** How a period's usage is one number (src/core/aggregation.ts); absent = sum. */
  readonly aggregation?: Aggregation | undefined;
  /** unique_count: the metadata key whose distinct values are counted. */
  readonly aggregationField?: string | null | undefined;
  /** JSON path of an event's quantity in its metadata ($.tokens), used when no quantity is given. */
  readonly valueProperty?: string | null | undefined;
  /** Metadata keys the usage is grouped by (OpenMeter's groupBy); reports break down by them too. */
  readonly groupBy?: readonly string[] | undefined;
}

export interface DefaultPrice {
  readonly service: string;
  /** Decimal price per display unit. */
  readonly unitPrice: string;
}

export const BUILTIN_SERVICES: readonly ServiceDefinition[] = [
  {
    name: 'api',
    displayName: 'API requests',
    baseUnit: 'requests',
    displayUnit: 'requests',
    displayFactor: 1,
    integerOnly: true,
    requiredFields: ['endpoint', 'method'],
    breakdownKeys: ['endpoint', 'method', 'status'],
    builtin: true,
  },
  {
    name: 'storage',
    displayName: 'Storage',
    baseUnit: 'byte-seconds',
    displayUnit: 'GB-hours',
    displayFactor: GIB * SECONDS_PER_HOUR,
    integerOnly: true,
    requiredFields: [],
    breakdownKeys: ['path', 'volume'],
    builtin: true,
  },
  {
    name: 'bandwidth',
    displayName: 'Bandwidth',
    baseUnit: 'bytes',
    displayUnit: 'GB',
    displayFactor: GIB,
    integerOnly: true,
    requiredFields: ['direction'],
    breakdownKeys: ['interface', 'direction'],
    builtin: true,
  },
  {
    name: 'compute',
    displayName: 'Compute',
    baseUnit: 'CPU-seconds',
    displayUnit: 'CPU-hours',
    displayFactor: SECONDS_PER_HOUR,
    integerOnly: false,
    requiredFields: [],
    breakdownKeys: ['instance', 'container', 'cgroup', 'process'],
    builtin: true,
  },
  {
    name: 'database',
    displayName: 'Database queries',
    baseUnit: 'queries',
    displayUnit: 'queries',
    displayFactor: 1,
    integerOnly: true,
    requiredFields: ['type'],
    breakdownKeys: ['type'],
    builtin: true,
  },
  {
    name: 'functions',
    displayName: 'Function invocations',
    baseUnit: 'invocations',
    displayUnit: 'invocations',
    displayFactor: 1,
    integerOnly: true,
    requiredFields: ['function'],
    breakdownKeys: ['function'],
    builtin: true,
  },
];

/** The first seed's default prices, per display unit. */
export const DEFAULT_PRICES: readonly DefaultPrice[] = [
  { service: 'api', unitPrice: '0.0001' },
  { service: 'storage', unitPrice: '0.001' },
  { service: 'bandwidth', unitPrice: '0.01' },
  { service: 'compute', unitPrice: '0.05' },
  { service: 'database', unitPrice: '0.00001' },
  { service: 'functions', unitPrice: '0.0002' },
];

export interface ServiceTemplate {
  readonly name: string;
  readonly description: string;
  readonly services: readonly ServiceDefinition[];
  readonly prices: readonly DefaultPrice[];
}

/**
 * Ready templates for the second seed's services. An LLM call is two quantities priced
 * differently (input and output tokens), so the template registers two services; one call to
 * `track.llm()` records both in one batch.
 */
export const SERVICE_TEMPLATES: readonly ServiceTemplate[] = [
  {
    name: 'llm',
    description: 'LLM tokens: input and output tokens per model and provider',
    services: [
      {
        name: 'llm_input',
        displayName: 'LLM input tokens',
        baseUnit: 'tokens',
        displayUnit: 'tokens',
        displayFactor: 1,
        integerOnly: true,
        requiredFields: ['model', 'provider'],
        breakdownKeys: ['model', 'provider'],
        builtin: false,
      },
      {
        name: 'llm_output',
        displayName: 'LLM output tokens',
        baseUnit: 'tokens',
        displayUnit: 'tokens',
        displayFactor: 1,
        integerOnly: true,
        requiredFields: ['model', 'provider'],
        breakdownKeys: ['model', 'provider'],
        builtin: false,
      },
    ],
    prices: [
      { service: 'llm_input', unitPrice: '0.000003' },
      { service: 'llm_output', unitPrice: '0.000015' },
    ],
  },
  {
    name: 'document',
    description: 'Document processing: pages per document type',
    services: [
      {
        name: 'document',
        displayName: 'Document pages',
        baseUnit: 'pages',
        displayUnit: 'pages',
        displayFactor: 1,
        integerOnly: true,
        requiredFields: ['document_type'],
        breakdownKeys: ['document_type'],
        builtin: false,
      },
    ],
    prices: [{ service: 'document', unitPrice: '0.01' }],
  },
];

/** A definition with the aggregation fields filled as the registry stores them (sum, no value property, no group-by). */
export function withServiceDefaults(def: ServiceDefinition): ServiceDefinition {
  const aggregation = def.aggregation ?? 'sum';
  return {
    ...def,
    aggregation,
    aggregationField: aggregation === 'unique_count' ? (def.aggregationField ?? null) : null,
    valueProperty: def.valueProperty ?? null,
    groupBy: def.groupBy ?? [],
  };
}

/**
 * The display factors a custom service may have (base units per display unit). A PB-month of
 * byte-seconds is 2.96e21, a byte of a TB 9.1e-13; beyond these, prices and quotas in display
 * units leave a double's range (1e-320 made every priced event fail, 1e308 every quota Infinity).
 */
export const DISPLAY_FACTOR_MIN = 1e-15;
export const DISPLAY_FACTOR_MAX = 1e24;
/** The same, as messages say it. */
export const DISPLAY_FACTOR_RANGE = 'from 1e-15 to 1e24';

/** Whether `f` is a display factor the registry accepts. */
export function isDisplayFactor(f: unknown): f is number {
  return typeof f === 'number' && f >= DISPLAY_FACTOR_MIN && f <= DISPLAY_FACTOR_MAX;
}

/** The least base quantity a record of the service can hold: 1, or a millionth when fractional. */
export function smallestBaseQuantity(def: Pick<ServiceDefinition, 'integerOnly'>): number {
  return 10 ** -decimalsOf(def);
}

/** Base quantity → display quantity (e.g. byte-seconds → GB-hours). */
export function toDisplay(service: Pick<ServiceDefinition, 'displayFactor'>, baseQuantity: number): number {
  return baseQuantity / service.displayFactor;
}

/** Display quantity → base quantity (e.g. a quota of 10 GB → bytes). */
export function fromDisplay(service: Pick<ServiceDefinition, 'displayFactor'>, displayQuantity: number): number {
  return displayQuantity * service.displayFactor;
}

/** 1234567 → "1.23M", 12345 → "12.35K", 12.5 → "12.50": the seed's compact usage column. */
export function formatCompact(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${(value / 1e9).toFixed(2)}B`;
  if (abs >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (abs >= 1e3) return `${(value / 1e3).toFixed(2)}K`;
  if (Number.isInteger(value)) return String(value);
  return value.toFixed(abs < 0.01 && abs > 0 ? 6 : 2);
}

export const SERVICE_NAME = /^[a-z][a-z0-9_]{0,62}$/;
export const CUSTOMER_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

/** Display quantities to 12 significant digits: binary fractions (GiB-hours) print without float noise. */
export function roundDisplay(n: number): number {
  if (Number.isInteger(n)) return n;
  return Number(n.toPrecision(12));
}
