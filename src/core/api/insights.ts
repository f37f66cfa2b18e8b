// API contract: the second seed's analytics — top users, error tracking, latency — over a
// period (default: this month), for all customers or one.
import { z } from 'zod';
import type { errorRates, latency, topUsers } from '../../analytics/insights';
import { customerField, periodFields } from './args';

export const insightsArgs = {
  'analytics.topUsers': z.strictObject({
    ...periodFields,
    ...customerField,
    service: z.string().min(1).max(128).optional(),
    by: z.enum(['cost', 'usage']).default('cost'),
    limit: z.number().int().min(1).max(1000).default(10),
  }),
  'analytics.errors': z.strictObject({
    ...periodFields,
    ...customerField,
    bucket: z.enum(['hour', 'day']).default('day'),
    limit: z.number().int().min(1).max(1000).default(10),
  }),
  'analytics.latency': z.strictObject({
    ...periodFields,
    ...customerField,
    service: z.string().min(1).max(128).optional(),
    by: z.enum(['service', 'endpoint', 'model']).default('service'),
  }),
};

export interface InsightsReplies {
  'analytics.topUsers': Awaited<ReturnType<typeof topUsers>>;
  'analytics.errors': Awaited<ReturnType<typeof errorRates>>;
  'analytics.latency': Awaited<ReturnType<typeof latency>>;
}
