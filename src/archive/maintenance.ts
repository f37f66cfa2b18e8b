// Maintenance for the seed's schedule: checkpoint the WAL (TRUNCATE), PRAGMA optimize, VACUUM when
// the free list is worth it (at least 20 % of the file and at least 8 MiB free), then fold the
// percentile histogram's deltas into its packed rows (src/storage/histogram.ts).
import type BetterSqlite3 from 'better-sqlite3';
import { packHistogram } from '../storage/histogram';

export const VACUUM_MIN_FREE_RATIO = 0.2;
export const VACUUM_MIN_FREE_BYTES = 8 * 1024 * 1024;

export interface MaintenanceResult {
  readonly checkpoint: { readonly busy: boolean; readonly walPages: number; readonly checkpointed: number };
  readonly optimized: true;
  readonly pageSize: number;
  readonly pagesBefore: number;
  readonly freePagesBefore: number;
  readonly vacuumed: boolean;
  /** Why VACUUM ran or not. */
  readonly reason: string;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
}

function checkpoint(sqlite: BetterSqlite3.Database): MaintenanceResult['checkpoint'] {
  const [row] = sqlite.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number; log: number; checkpointed: number }>;
  return { busy: row!.busy === 1, walPages: row!.log, checkpointed: row!.checkpointed };
}

/** Runs on a writable connection; VACUUM needs no other connection mid-write (the writer lock). */
export function runMaintenance(sqlite: BetterSqlite3.Database, o: { vacuum?: 'auto' | 'always' | 'never' } = {}): MaintenanceResult {
  const cp = checkpoint(sqlite);
  sqlite.pragma('optimize');
  const pageSize = sqlite.pragma('page_size', { simple: true }) as number;
  const pages = sqlite.pragma('page_count', { simple: true }) as number;
  const free = sqlite.pragma('freelist_count', { simple: true }) as number;
  const mode = o.vacuum ?? 'auto';
  const worth = pages > 0 && free / pages >= VACUUM_MIN_FREE_RATIO && free * pageSize >= VACUUM_MIN_FREE_BYTES;
  const vacuum = mode === 'always' || (mode === 'auto' && worth);
  const freeMiB = ((free * pageSize) / 1048576).toFixed(1);
  const reason =
    mode === 'never'
      ? 'VACUUM not requested'
      : mode === 'always'
        ? 'VACUUM requested'
        : worth
          ? `${free} of ${pages} pages free (${freeMiB} MiB): worth a VACUUM`
          : `${free} of ${pages} pages free (${freeMiB} MiB): below 20 % and 8 MiB, no VACUUM needed`;
  if (vacuum) {
    sqlite.exec('VACUUM');
    checkpoint(sqlite);
  }
  const after = sqlite.pragma('page_count', { simple: true }) as number;
  // Last: a histogram that could not be packed fails the job without holding up the rest.
  packHistogram(sqlite);
  return {
    checkpoint: cp,
    optimized: true,
    pageSize,
    pagesBefore: pages,
    freePagesBefore: free,
    vacuumed: vacuum,
    reason,
    bytesBefore: pages * pageSize,
    bytesAfter: after * pageSize,
  };
}
