// API contract: recording, the service registry, the price book and the usage report.
// Arguments are zod schemas (checked at runtime before any handler runs); their types derive
// from them. Replies are plain JSON described by the types below.
import { z } from 'zod';
import type { UsageReport } from '../../analytics/usage';
import type { LateMark } from '../../analytics/closing-types';
import type { PriceRule, PriceSpec } from '../pricing';
import type { ServiceDefinition } from '../services';
import type { StoredRef } from '../tracking';
import { customerField, periodFields } from './args';

export type PeriodArgs = z.input<z.ZodObject<typeof periodFields>>;

const metadataKeys = z.array(z.string()).max(64);

/** A custom service as callers describe it; names and units are checked by the registry. */
export const ServiceInputSchema = z.strictObject({
  name: z.string(),
  displayName: z.string().optional(),
  baseUnit: z.string().optional(),
  displayUnit: z.string().optional(),
  /** Base units per display unit, from 1e-15 to 1e24 (checked by the registry, with the rest of the definition). */
  displayFactor: z.number().optional(),
  integerOnly: z.boolean().optional(),
  requiredFields: metadataKeys.optional(),
  breakdownKeys: metadataKeys.optional(),
  builtin: z.literal(false).optional(),
  /** sum (default), count, max, latest, unique_count (with aggregationField) — or "unique:user_id". */
  aggregation: z.string().optional(),
  aggregationField: z.string().optional(),
  /** JSON path of the quantity in an event's metadata, e.g. $.tokens. */
  valueProperty: z.string().optional(),
  groupBy: metadataKeys.optional(),
});
export type ServiceInput = z.input<typeof ServiceInputSchema>;

/** A price spec's shape is checked by the price book (checkPriceSpec), which knows every model. */
export const PriceSpecSchema = z.custom<PriceSpec>(
  (v) => typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { model?: unknown }).model === 'string',
  'must be an object with a model',
);

export const usageArgs = {
  'records.add': z.strictObject({ records: z.array(z.unknown()).min(1).max(10_000) }),
  'services.list': z.strictObject({}),
  'services.add': z
    .strictObject({
      service: ServiceInputSchema.optional(),
      unitPrice: z.string().optional(),
      template: z.string().optional(),
      /** Change an existing custom service's definition (without it, a different one is refused with the difference). */
      update: z.boolean().optional(),
    })
    .refine((a) => (a.service === undefined) !== (a.template === undefined), {
      path: ['service'],
      message: 'give either a service or a template',
    }),
  'prices.list': z.strictObject({ service: z.string().optional() }),
  'prices.set': z.strictObject({
    service: z.string().min(1),
    spec: PriceSpecSchema,
    effectiveFrom: z.string().optional(),
    minimumCharge: z.string().nullable().optional(),
  }),
  'report.usage': z.strictObject({
    ...periodFields,
    ...customerField,
    service: z.string().optional(),
    detailed: z.boolean().optional(),
  }),
};

export interface UsageReplies {
  'records.add': StoredRef[];
  'services.list': ServiceDefinition[];
  'services.add': ServiceDefinition[];
  'prices.list': PriceRule[];
  'prices.set': PriceRule[];
  /** `late`: closed months in the range, and what arrived for them after they closed. */
  'report.usage': UsageReport & { readonly late: readonly LateMark[] };
}

export interface UsageEvents {
  /** A flush committed records: the UI refreshes what it shows. */
  'records.flushed': { records: number; services: string[]; at: string };
}
