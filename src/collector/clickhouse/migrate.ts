// Applies the ClickHouse migrations on every shard's server: the database first, then each
// pending migration's statements, then its row in tally_migrations. A server that has a migration
// this collector does not know was set up by a newer one and is refused, as for PostgreSQL.
import type { ClickHouseClient } from '@clickhouse/client';
import { TallyError } from '../../core/errors';
import { clientOn, rows, str, type ChConnection } from './connection';
import { CLICKHOUSE_MIGRATIONS, type ChLayout, type ChMigration } from './migrations';

async function createDatabase(c: ChConnection): Promise<void> {
  for (const url of c.target.urls) {
    // The connection's clients name the database, which may not exist yet: use `default` once.
    const admin = clientOn(url, c.target, 'default');
    try {
      await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${c.target.database}` });
    } finally {
      await admin.close();
    }
  }
}

async function applied(server: ClickHouseClient): Promise<number[]> {
  await server.command({
    query: 'CREATE TABLE IF NOT EXISTS tally_migrations (id UInt32, name String, applied_at Int64) ENGINE = MergeTree ORDER BY id',
  });
  // Two collectors migrating at once may both record a migration: ids are read once each.
  const done = await rows<{ id: number }>(server, 'SELECT DISTINCT id FROM tally_migrations ORDER BY id');
  return done.map((r) => Number(r.id));
}

async function migrateServer(server: ClickHouseClient, layout: ChLayout, now: number, url: string): Promise<number[]> {
  const ids = await applied(server);
  ids.forEach((id, i) => {
    if (CLICKHOUSE_MIGRATIONS[i]?.id !== id)
      throw new TallyError(
        'unsupported',
        `ClickHouse at ${url} has collector migration ${id}, unknown to this Tally: it was set up by a newer collector`,
      );
  });
  const done: number[] = [];
  for (const m of CLICKHOUSE_MIGRATIONS.slice(ids.length)) {
    await run(server, m, layout);
    await server.command({ query: `INSERT INTO tally_migrations VALUES (${m.id}, ${str(m.name)}, ${Math.trunc(now)})` });
    done.push(m.id);
  }
  return done;
}

async function run(server: ClickHouseClient, m: ChMigration, layout: ChLayout): Promise<void> {
  for (const statement of m.statements(layout)) {
    if (typeof statement === 'string') {
      await server.command({ query: statement });
      continue;
    }
    const [row] = await rows<Record<string, string>>(server, statement.unless);
    if (Number(Object.values(row ?? {})[0] ?? 0) === 0) await server.command({ query: statement.sql });
  }
}

/** The cluster named by --cluster must list exactly the servers given, each once. */
async function checkCluster(c: ChConnection): Promise<void> {
  const name = c.target.cluster;
  if (name === null) return;
  const [r] = await rows<{ shards: string }>(
    c.entry,
    `SELECT uniqExact(shard_num) AS shards FROM system.clusters WHERE cluster = ${str(name)}`,
  );
  const shards = Number(r?.shards ?? 0);
  if (shards === 0) throw new TallyError('invalid_input', `cluster: "${name}" is not in the server's remote_servers`, { field: 'cluster' });
  if (shards !== c.servers.length)
    throw new TallyError(
      'invalid_input',
      `clickhouse: cluster "${name}" has ${shards} shards; give one URL per shard (${c.servers.length} given) so each gets the schema`,
      { field: 'clickhouse' },
    );
}

/** Migrates every server; returns the ids applied on the entry server. */
export async function migrateClickHouse(c: ChConnection, now: number = Date.now()): Promise<number[]> {
  await createDatabase(c);
  await checkCluster(c);
  const layout: ChLayout = { database: c.target.database, cluster: c.target.cluster };
  const results = [];
  for (const [i, server] of c.servers.entries()) results.push(await migrateServer(server, layout, now, c.target.urls[i]!));
  return results[0] ?? [];
}
