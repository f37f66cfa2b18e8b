// API contract: recording, the service registry, the price book and the usage report.
import type { PriceRule, PriceSpec } from '../pricing';
import type { RecordInput } from '../records';
import type { UsageReport } from '../../analytics/usage';
import type { ServiceDefinition } from '../services';
import type { StoredRef } from '../tracking';

/** A period as ISO dates/times (YYYY-MM, YYYY-MM-DD or ISO 8601, UTC); `to` is exclusive for times, inclusive for dates. */
export interface PeriodArgs {
  readonly from?: string;
  readonly to?: string;
  readonly month?: string;
}

export interface UsageHandlers {
  'records.add': (args: { records: RecordInput[] }) => StoredRef[];
  'services.list': (args: Record<string, never>) => ServiceDefinition[];
  'services.add': (args: { service: ServiceDefinition; unitPrice?: string } | { template: string }) => ServiceDefinition[];
  'prices.list': (args: { service?: string }) => PriceRule[];
  'prices.set': (args: { service: string; spec: PriceSpec; effectiveFrom?: string; minimumCharge?: string | null }) => PriceRule[];
  'report.usage': (args: PeriodArgs & { service?: string; customerId?: string; detailed?: boolean }) => UsageReport;
}

export interface UsageEvents {
  /** A flush committed records: the UI refreshes what it shows. */
  'records.flushed': { records: number; services: string[]; at: string };
}
