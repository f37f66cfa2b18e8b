// The collector's PostgreSQL connection: a pg pool behind kysely's Postgres dialect. bigint and
// numeric come back as JS numbers (the core's reports add them): exact up to 2^53, which holds
// nano-unit totals up to about 9 million currency units per report line; past that they are refused.
import { createRequire } from 'node:module';
import type pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import { TallyError } from '../core/errors';
import { COLLECTOR_MIGRATIONS, type CollectorDatabase } from './schema';
import { registerPool } from './pg-copy';

export interface CollectorDb {
  readonly pool: pg.Pool;
  readonly db: Kysely<CollectorDatabase>;
  close(): Promise<void>;
}

function exactNumber(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) && /^-?\d+$/.test(text))
    throw new TallyError('unsupported', `a total of ${text} is beyond exact JS numbers (2^53)`);
  return n;
}

const INT8 = 20;
const NUMERIC = 1700;
// pg is loaded when a collector database is opened, not when any `tally` command starts.
const requirePg = (): typeof pg => createRequire(import.meta.url)('pg') as typeof pg;

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8 || oid === NUMERIC) return exactNumber;
    return requirePg().types.getTypeParser(oid, format ?? 'text');
  },
};

export function openCollectorDb(connectionString: string, options: { max?: number } = {}): CollectorDb {
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    throw new TallyError('invalid_input', '--pg: not a URL (postgres://user@host:port/db)', { field: 'pg' });
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
    throw new TallyError('invalid_input', '--pg: must start with postgres://', { field: 'pg' });
  const pool = new (requirePg().Pool)({ connectionString, max: options.max ?? 10, types: types as pg.CustomTypesConfig });
  // An idle client losing its server must not crash the collector: the next query reconnects.
  pool.on('error', () => undefined);
  const db = new Kysely<CollectorDatabase>({ dialect: new PostgresDialect({ pool }) });
  registerPool(db, pool); // the store's COPY ingest needs a raw client (pg-copy.ts)
  let closed = false;
  return {
    pool,
    db,
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
      // kysely ends the pool only if it ran a query; one used only directly (migrations) has
      // idle clients that would keep the process alive for their idle timeout.
      if (!pool.ended) await pool.end();
    },
  };
}

/** Applies pending collector migrations; many collectors may start at once (advisory lock). */
export async function migrateCollector(pool: pg.Pool, now: number = Date.now()): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock(7434001)');
    await client.query(
      'CREATE TABLE IF NOT EXISTS collector_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)',
    );
    const applied = (await client.query<{ id: number; name: string }>('SELECT id, name FROM collector_migrations ORDER BY id')).rows;
    applied.forEach((a, i) => {
      if (COLLECTOR_MIGRATIONS[i]?.id !== a.id) {
        throw new TallyError(
          'unsupported',
          `this PostgreSQL database has collector migration ${a.id} (${a.name}), unknown to this Tally: it was set up by a newer collector`,
        );
      }
    });
    const done: number[] = [];
    for (const m of COLLECTOR_MIGRATIONS.slice(applied.length)) {
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO collector_migrations (id, name, applied_at) VALUES ($1, $2, $3)', [m.id, m.name, now]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
      done.push(m.id);
    }
    return done;
  } finally {
    await client.query('SELECT pg_advisory_unlock(7434001)').catch(() => undefined);
    client.release();
  }
}
