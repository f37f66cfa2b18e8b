// The static list of migrations. Frozen in time: each file is plain SQL and imports nothing
// from the app. Add a new file with the next number and append it here; never edit a shipped one.
import m0001 from './0001_init.sql';
import m0003 from './0003_analytics.sql';
import m0004 from './0004_sync.sql';
import m0005 from './0005_time_index.sql';
import m0006 from './0006_rollups_covering.sql';
import m0007 from './0007_corrections.sql';
import m0009 from './0009_exact_quantities.sql';
import m0010 from './0010_metering.sql';
import m0011 from './0011_tenants.sql';
import m0012 from './0012_hooks_schedule.sql';
import m0013 from './0013_customer_timezone.sql';
import m0014 from './0014_unique_values.sql';
import m0015 from './0015_archived_ids.sql';
import m0016 from './0016_quantity_histogram.sql';
import m0017 from './0017_correction_costs.sql';
import m0018 from './0018_packed_histogram.sql';
import m0019 from './0019_estimated_index.sql';

export interface Migration {
  readonly id: number;
  readonly name: string;
  readonly sql: string;
}

export const migrations: readonly Migration[] = [
  { id: 1, name: 'init', sql: m0001 },
  { id: 3, name: 'analytics', sql: m0003 },
  { id: 4, name: 'sync', sql: m0004 },
  { id: 5, name: 'time_index', sql: m0005 },
  { id: 6, name: 'rollups_covering', sql: m0006 },
  { id: 7, name: 'corrections', sql: m0007 },
  { id: 9, name: 'exact_quantities', sql: m0009 },
  { id: 10, name: 'metering', sql: m0010 },
  { id: 11, name: 'tenants', sql: m0011 },
  { id: 12, name: 'hooks_schedule', sql: m0012 },
  { id: 13, name: 'customer_timezone', sql: m0013 },
  { id: 14, name: 'unique_values', sql: m0014 },
  { id: 15, name: 'archived_ids', sql: m0015 },
  { id: 16, name: 'quantity_histogram', sql: m0016 },
  { id: 17, name: 'correction_costs', sql: m0017 },
  { id: 18, name: 'packed_histogram', sql: m0018 },
  { id: 19, name: 'estimated_index', sql: m0019 },
];
