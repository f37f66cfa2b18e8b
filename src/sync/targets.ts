// Sync targets: those in the config file (read-only here) plus those added from the CLI or the
// UI, kept in the database's sync_targets table — all but their tokens, which live in the 0600
// secrets file beside the database (storage/secrets.ts), never in the database. Nothing here
// returns or logs a token (see targetView).
import fs from 'node:fs';
import type BetterSqlite3 from 'better-sqlite3';
import { invalid, TallyError } from '../core/errors';
import { resolveTarget, type ResolvedTarget, type TargetInput } from '../core/sync/targets';
import type { Config } from '../config/config';
import { readSecrets, targetTokenKey, writeSecrets, type Secrets } from '../storage/secrets';

interface TargetRow {
  name: string;
  kind: string;
  url: string;
  token: string | null;
  options: string;
  enabled: number;
  created_at: number;
  updated_at: number;
}

function rowInput(row: TargetRow, secrets: Secrets): TargetInput {
  const { batchSize, ...options } = JSON.parse(row.options) as { batchSize?: number } & Record<string, unknown>;
  return {
    name: row.name,
    kind: row.kind as TargetInput['kind'],
    url: row.url,
    token: secrets[targetTokenKey(row.name)] ?? row.token,
    enabled: row.enabled === 1,
    ...(batchSize === undefined ? {} : { batchSize }),
    ...(Object.keys(options).length ? { options: options as TargetInput['options'] } : {}),
  };
}

/** Config targets may name a token file or variable instead of holding the token in clear. */
function withConfigToken(t: TargetInput, i: number): TargetInput {
  const { tokenFile, tokenEnv, ...rest } = t;
  if (tokenFile !== undefined && tokenEnv !== undefined)
    throw invalid(`sync.targets.${i}.tokenFile`, 'give tokenFile or tokenEnv, not both');
  if (tokenFile !== undefined) {
    try {
      return { ...rest, token: fs.readFileSync(tokenFile, 'utf8').trim() };
    } catch (err) {
      throw invalid(
        `sync.targets.${i}.tokenFile`,
        `cannot read ${tokenFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  }
  if (tokenEnv !== undefined) {
    const v = process.env[tokenEnv];
    if (!v) throw invalid(`sync.targets.${i}.tokenEnv`, `environment variable ${tokenEnv} is not set`);
    return { ...rest, token: v };
  }
  return rest;
}

export function configTargets(config: Readonly<Config>): ResolvedTarget[] {
  return config.sync.targets.map((t, i) => resolveTarget(withConfigToken(t, i), 'config', `sync.targets.${i}`));
}

export function storedTargets(sqlite: BetterSqlite3.Database): ResolvedTarget[] {
  const rows = sqlite.prepare('SELECT * FROM sync_targets ORDER BY name').all() as TargetRow[];
  if (!sqlite.readonly && rows.some((r) => r.token !== null)) moveTokensToSecrets(sqlite, rows);
  const secrets = readSecrets(sqlite.name);
  return rows.map((r) => resolveTarget(rowInput(r, secrets), 'settings', `sync_targets.${r.name}`));
}

/** Tokens stored in the database by an older Tally move to the secrets file, and are wiped from the pages. */
function moveTokensToSecrets(sqlite: BetterSqlite3.Database, rows: readonly TargetRow[]): void {
  const secrets = readSecrets(sqlite.name);
  const moving = rows.filter((r) => r.token !== null);
  writeSecrets(sqlite.name, Object.fromEntries(moving.map((r) => [targetTokenKey(r.name), secrets[targetTokenKey(r.name)] ?? r.token])));
  const secure = sqlite.pragma('secure_delete', { simple: true }) as number;
  sqlite.pragma('secure_delete = ON');
  try {
    sqlite.prepare('UPDATE sync_targets SET token = NULL WHERE token IS NOT NULL').run();
  } finally {
    sqlite.pragma(`secure_delete = ${secure}`);
  }
}

/** Every target; a stored one with the name of a configured one is shadowed by the config. */
export function allTargets(config: Readonly<Config>, sqlite: BetterSqlite3.Database): ResolvedTarget[] {
  const fromConfig = configTargets(config);
  const names = new Set(fromConfig.map((t) => t.name));
  return [...fromConfig, ...storedTargets(sqlite).filter((t) => !names.has(t.name))];
}

export function findTarget(config: Readonly<Config>, sqlite: BetterSqlite3.Database, name: string): ResolvedTarget {
  const t = allTargets(config, sqlite).find((x) => x.name === name);
  if (!t) throw new TallyError('not_found', `no sync target named "${name}" (see \`tally sync target list\`)`, { field: 'target' });
  return t;
}

/**
 * Adds or replaces a stored target. A missing token keeps the one already stored, so the UI can
 * change a URL without the user retyping a secret it never sees again.
 */
export function saveTarget(config: Readonly<Config>, sqlite: BetterSqlite3.Database, input: unknown, now: number): ResolvedTarget {
  const raw = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  if (typeof raw.name === 'string' && config.sync.targets.some((t) => t.name === raw.name)) {
    throw invalid('name', `"${raw.name}" is defined in the config file; change it there`);
  }
  if (raw.tokenFile !== undefined || raw.tokenEnv !== undefined)
    throw invalid(
      raw.tokenFile !== undefined ? 'target.tokenFile' : 'target.tokenEnv',
      'is for the config file; give the token itself here',
    );
  const existing =
    typeof raw.name === 'string'
      ? (sqlite.prepare('SELECT token FROM sync_targets WHERE name = ?').get(raw.name) as { token: string | null } | undefined)
      : undefined;
  const stored = existing && typeof raw.name === 'string' ? (readSecrets(sqlite.name)[targetTokenKey(raw.name)] ?? existing.token) : null;
  const withToken = raw.token === undefined && existing ? { ...raw, token: stored } : raw;
  const t = resolveTarget(withToken, 'settings', 'target');
  const options = JSON.stringify({ ...t.options, batchSize: t.batchSize });
  sqlite
    .prepare(
      `INSERT INTO sync_targets (name, kind, url, token, options, enabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, url = excluded.url, token = excluded.token, options = excluded.options,
         enabled = excluded.enabled, updated_at = excluded.updated_at`,
    )
    .run(t.name, t.kind, t.url, null, options, t.enabled ? 1 : 0, now, now);
  writeSecrets(sqlite.name, { [targetTokenKey(t.name)]: t.token ?? null });
  // A new token may fix a target stopped for refused credentials: let it run again.
  sqlite.prepare('UPDATE sync_state SET stopped = NULL, next_attempt = NULL, attempts = 0 WHERE target = ?').run(t.name);
  return t;
}

/** Removes a stored target with its cursor and rejections. */
export function removeTarget(config: Readonly<Config>, sqlite: BetterSqlite3.Database, name: string): void {
  if (config.sync.targets.some((t) => t.name === name)) throw invalid('name', `"${name}" is defined in the config file; remove it there`);
  const removed = sqlite
    .transaction(() => {
      const info = sqlite.prepare('DELETE FROM sync_targets WHERE name = ?').run(name);
      sqlite.prepare('DELETE FROM sync_state WHERE target = ?').run(name);
      sqlite.prepare('DELETE FROM sync_rejections WHERE target = ?').run(name);
      return info.changes;
    })
    .immediate();
  if (removed === 0) throw new TallyError('not_found', `no stored sync target named "${name}"`, { field: 'name' });
  writeSecrets(sqlite.name, { [targetTokenKey(name)]: null });
}
