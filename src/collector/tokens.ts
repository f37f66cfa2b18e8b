// Per-agent tokens. A token is bound to one host id: records it carries must claim that host.
// Only its SHA-256 is stored; the token is printed once, at issue. Revoked tokens stay listed.
import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { invalid, TallyError } from '../core/errors';
import { CUSTOMER_ID } from '../core/services';
import type { CollectorDatabase } from './schema';

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export interface IssuedToken {
  readonly id: string;
  readonly hostId: string;
  /** Shown once. */
  readonly token: string;
}

export interface TokenInfo {
  readonly id: string;
  readonly hostId: string;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

export async function issueToken(db: Kysely<CollectorDatabase>, hostId: string, now: number): Promise<IssuedToken> {
  if (!CUSTOMER_ID.test(hostId)) throw invalid('host-id', "must be 1-128 letters, digits and . _ : @ - (the agent's hostId)");
  const id = `tok_${randomBytes(6).toString('hex')}`;
  const token = `tly_${id.slice(4)}_${randomBytes(24).toString('base64url')}`;
  await db
    .insertInto('agent_tokens')
    .values({ id, host_id: hostId, token_hash: hashToken(token), created_at: now, revoked_at: null })
    .execute();
  return { id, hostId, token };
}

/** Revokes one token by id, or every live token of a host id. Returns how many. */
export async function revokeTokens(db: Kysely<CollectorDatabase>, idOrHost: string, now: number): Promise<number> {
  const res = await db
    .updateTable('agent_tokens')
    .set({ revoked_at: now })
    .where((eb) => eb.or([eb('id', '=', idOrHost), eb('host_id', '=', idOrHost)]))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  const n = Number(res.numUpdatedRows);
  if (n === 0) throw new TallyError('not_found', `no live token with id or host id "${idOrHost}"`, { field: 'token' });
  return n;
}

export async function listTokens(db: Kysely<CollectorDatabase>): Promise<TokenInfo[]> {
  const rows = await db
    .selectFrom('agent_tokens')
    .select(['id', 'host_id', 'created_at', 'revoked_at'])
    .orderBy('host_id')
    .orderBy('created_at')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    hostId: r.host_id,
    createdAt: new Date(r.created_at).toISOString(),
    revokedAt: r.revoked_at === null ? null : new Date(r.revoked_at).toISOString(),
  }));
}

export type Verified = { ok: true; id: string; hostId: string } | { ok: false; reason: string };

export async function verifyToken(db: Kysely<CollectorDatabase>, token: string): Promise<Verified> {
  const row = await db
    .selectFrom('agent_tokens')
    .select(['id', 'host_id', 'revoked_at'])
    .where('token_hash', '=', hashToken(token))
    .executeTakeFirst();
  if (!row) return { ok: false, reason: 'unknown token' };
  if (row.revoked_at !== null) return { ok: false, reason: `token ${row.id} was revoked` };
  return { ok: true, id: row.id, hostId: row.host_id };
}
