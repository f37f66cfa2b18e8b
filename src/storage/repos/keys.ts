// Scoped API keys: SQL for `api_keys`. The key is 256 random bits shown once; only its SHA-256
// is stored (a slow hash buys nothing against a key nobody can guess). The gate's lookup is a
// synchronous prepared statement: it runs on every request that carries a key.
import crypto from 'node:crypto';
import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { ApiKeyInfo, CreatedKey, KeyScope } from '../../core/api/tenants';
import { TallyError } from '../../core/errors';
import type { ApiKeysTable, Database } from '../schema';

export const KEY_PREFIX = 'tk_';

export function hashKey(key: string): string {
  return crypto.hash('sha256', key, 'hex');
}

/**
 * Bumped after every change to api_keys made through this module: the agent's cached lookups
 * (keyByHash) made before it are dropped at once. Tally changes keys only through the process that
 * holds the writer (the agent, while it runs); a change made by anything else, say sqlite3 on the
 * file, is seen within KEY_CACHE_MS.
 */
let keysRevision = 0;
export const KEY_CACHE_MS = 1000;

export function rowToKey(row: ApiKeysTable): ApiKeyInfo {
  return {
    id: row.id,
    customer: row.customer_id,
    scope: row.scope,
    name: row.name,
    rate: row.rate_per_minute,
    createdAt: new Date(row.created_at).toISOString(),
    revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at).toISOString(),
  };
}

export async function createKey(
  db: Kysely<Database>,
  k: { customer: string; scope: KeyScope; name?: string | undefined; rate?: number | undefined },
  now: number,
): Promise<CreatedKey> {
  const key = KEY_PREFIX + crypto.randomBytes(32).toString('base64url');
  const row: ApiKeysTable = {
    id: `key_${crypto.randomBytes(8).toString('hex')}`,
    key_hash: hashKey(key),
    customer_id: k.customer,
    scope: k.scope,
    name: k.name ?? null,
    rate_per_minute: k.rate ?? null,
    created_at: now,
    revoked_at: null,
  };
  await db.insertInto('api_keys').values(row).execute();
  keysRevision++;
  return { ...rowToKey(row), key };
}

export async function listKeys(
  db: Kysely<Database>,
  f: { customer?: string | undefined; revoked?: boolean | undefined },
): Promise<ApiKeyInfo[]> {
  let q = db.selectFrom('api_keys').selectAll().orderBy('created_at').orderBy('id');
  if (f.customer !== undefined) q = q.where('customer_id', '=', f.customer);
  if (f.revoked === false) q = q.where('revoked_at', 'is', null);
  return (await q.execute()).map(rowToKey);
}

/** Revoking twice keeps the first time. */
export async function revokeKey(db: Kysely<Database>, id: string, now: number): Promise<ApiKeyInfo> {
  await db.updateTable('api_keys').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).execute();
  keysRevision++;
  const row = await db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new TallyError('not_found', `id: no API key "${id.slice(0, 64)}" (tally keys list shows them)`, { field: 'id' });
  return rowToKey(row);
}

/** A presented key → its row, or undefined. Keys without our prefix are not looked up. */
export function keyFinder(sqlite: BetterSqlite3.Database): (key: string) => ApiKeysTable | undefined {
  const byHash = keyByHash(sqlite);
  return (key) => (key.startsWith(KEY_PREFIX) ? byHash(hashKey(key)) : undefined);
}

/** A key's row by its stored hash (a dashboard session remembers the hash, never the key). */
export function keyByHash(sqlite: BetterSqlite3.Database): (hash: string) => ApiKeysTable | undefined {
  const stmt = sqlite.prepare('SELECT * FROM api_keys WHERE key_hash = ?');
  // Found rows are remembered (a lookup was ~3 µs of every request made with a key); unknown
  // hashes are not, so guessing keys cannot fill the cache.
  const cache = new Map<string, ApiKeysTable>();
  let revision = keysRevision;
  let since = performance.now();
  return (hash) => {
    const now = performance.now();
    if (revision !== keysRevision || now - since > KEY_CACHE_MS) {
      cache.clear();
      revision = keysRevision;
      since = now;
    }
    let row = cache.get(hash);
    if (row === undefined) {
      row = stmt.get(hash) as ApiKeysTable | undefined;
      if (row !== undefined && cache.size < 1000) cache.set(hash, Object.freeze(row));
    }
    return row;
  };
}
