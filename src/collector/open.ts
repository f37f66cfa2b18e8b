// Opening the collector: the PostgreSQL control store (tokens, services, forwarding state) and
// the record store chosen by --store: the same PostgreSQL, or ClickHouse (one server, or the
// shards of --cluster). Both are migrated before use.
import { invalid } from '../core/errors';
import { copyPgToClickHouse, type CopyProgress } from './clickhouse/copy';
import { migrateClickHouse } from './clickhouse/migrate';
import { openClickHouse, parseClickHouseTarget } from './clickhouse/connection';
import { clickhouseStore } from './clickhouse/store';
import { migrateCollector, openCollectorDb, type CollectorDb } from './db';
import { pgStore } from './pg-store';
import type { CollectorStore } from './store';

export interface StoreOptions {
  readonly store?: string | undefined;
  readonly clickhouse?: string | undefined;
  readonly cluster?: string | undefined;
}

export interface OpenCollector {
  readonly control: CollectorDb;
  readonly store: CollectorStore;
  close(): Promise<void>;
}

export type StoreKind = CollectorStore['kind'];

export function storeKind(o: StoreOptions): StoreKind {
  const kind = o.store ?? process.env.TALLY_COLLECTOR_STORE ?? 'postgres';
  if (kind !== 'postgres' && kind !== 'clickhouse') throw invalid('store', `"${kind}" must be postgres or clickhouse`);
  if (kind === 'postgres' && (o.clickhouse !== undefined || o.cluster !== undefined))
    throw invalid('store', '--clickhouse and --cluster need --store clickhouse');
  return kind;
}

/** Opens a ClickHouse store from --clickhouse/--cluster (env TALLY_COLLECTOR_CLICKHOUSE), migrated. */
export async function openClickHouseStore(o: StoreOptions, now: number = Date.now()): Promise<CollectorStore> {
  const target = parseClickHouseTarget(o.clickhouse ?? process.env.TALLY_COLLECTOR_CLICKHOUSE, o.cluster);
  const conn = openClickHouse(target);
  try {
    await migrateClickHouse(conn, now);
  } catch (err) {
    await conn.close();
    throw err;
  }
  return clickhouseStore(conn);
}

/** Opens and migrates the control db and the chosen store. */
export async function openCollector(pgUrl: string, o: StoreOptions, options: { max?: number; now?: number } = {}): Promise<OpenCollector> {
  const kind = storeKind(o);
  const control = openCollectorDb(pgUrl, options.max === undefined ? {} : { max: options.max });
  try {
    await migrateCollector(control.pool);
    const store = kind === 'clickhouse' ? await openClickHouseStore(o, options.now) : pgStore(control);
    return {
      control,
      store,
      async close() {
        await store.close();
        await control.close();
      },
    };
  } catch (err) {
    await control.close();
    throw err;
  }
}

/** `tally collector migrate-store`: every record of the PostgreSQL store into ClickHouse (re-runnable). */
export async function copyStoreToClickHouse(pgUrl: string, o: StoreOptions, onProgress?: (p: CopyProgress) => void): Promise<CopyProgress> {
  const control = openCollectorDb(pgUrl);
  const conn = openClickHouse(parseClickHouseTarget(o.clickhouse ?? process.env.TALLY_COLLECTOR_CLICKHOUSE, o.cluster));
  try {
    await migrateCollector(control.pool);
    await migrateClickHouse(conn);
    return await copyPgToClickHouse(control.pool, conn, onProgress ? { onProgress } : {});
  } finally {
    await conn.close();
    await control.close();
  }
}
