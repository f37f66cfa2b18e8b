// API contract: time zones. The installation's zone is the config's `timezone` (TALLY_TIMEZONE);
// a customer may have its own. Zoned reports cut days, ISO weeks and months at local midnights.
import { z } from 'zod';
import type { ZonedRow } from '../../analytics/zoned';
import { customerField, periodFields } from './args';

export interface ZoneInfo {
  readonly customerId: string | null;
  readonly timezone: string;
  /** Where the zone comes from. */
  readonly source: 'customer' | 'installation' | 'argument';
}

export interface ZonedReport extends ZoneInfo {
  readonly granularity: 'daily' | 'weekly' | 'monthly';
  readonly from: string;
  readonly to: string;
  readonly rows: readonly ZonedRow[];
}

export const zonesArgs = {
  'zones.get': z.strictObject({ ...customerField }),
  /** null clears the customer's own zone (it then follows the installation). */
  'zones.set': z.strictObject({ customerId: z.string().min(1).max(128), timezone: z.string().min(1).max(64).nullable() }),
  /** Usage per local day, week or month; dates (YYYY-MM, YYYY-MM-DD) are local to the zone. Default: this month; at most 3660 days. */
  'report.zoned': z.strictObject({
    ...periodFields,
    ...customerField,
    granularity: z.enum(['daily', 'weekly', 'monthly']),
    service: z.string().min(1).optional(),
    timezone: z.string().min(1).max(64).optional(),
  }),
};

export interface ZonesReplies {
  'zones.get': ZoneInfo;
  'zones.set': ZoneInfo;
  'report.zoned': ZonedReport;
}
