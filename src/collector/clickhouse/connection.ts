// The collector's ClickHouse connection over the HTTP interface (@clickhouse/client). One URL is a
// single server; several (comma-separated) are the shards of `--cluster NAME`: DDL runs on each
// of them (18.16 has no ON CLUSTER without ZooKeeper), reads and writes go through the first one's
// Distributed tables. The database is the URL's path (default `default`).
import { createRequire } from 'node:module';
import type { ClickHouseClient } from '@clickhouse/client';
import { invalid, TallyError } from '../../core/errors';

export interface ClickHouseTarget {
  /** Scheme, host and port of each server (credentials apart). */
  readonly urls: readonly string[];
  readonly database: string;
  readonly cluster: string | null;
  readonly username: string;
  readonly password: string;
}

export interface ChTables {
  /** Where events are inserted and read: the local table, or the Distributed one over a cluster. */
  readonly events: string;
  readonly rollups: string;
}

export interface ChConnection {
  readonly target: ClickHouseTarget;
  readonly tables: ChTables;
  /** The server every query and insert goes to. */
  readonly entry: ClickHouseClient;
  /** Every shard's server (the entry first), for DDL. */
  readonly servers: readonly ClickHouseClient[];
  close(): Promise<void>;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Parses `--clickhouse url[,url…]` and `--cluster`; errors name the flag. */
export function parseClickHouseTarget(urls: string | undefined, cluster: string | undefined): ClickHouseTarget {
  if (!urls)
    throw invalid('clickhouse', 'is required with --store clickhouse: --clickhouse http://host:8123[/database][,http://shard2:8123…]');
  const parsed = urls.split(',').map((u) => {
    let url: URL;
    try {
      url = new URL(u.trim());
    } catch {
      throw invalid('clickhouse', `"${u}" is not a URL (http://host:8123/database)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw invalid('clickhouse', `"${u}" must start with http:// or https:// (the HTTP interface)`);
    return url;
  });
  const databases = new Set(parsed.map((u) => u.pathname.replace(/^\/+|\/+$/g, '') || 'default'));
  if (databases.size > 1) throw invalid('clickhouse', 'every shard URL must name the same database');
  const database = [...databases][0]!;
  if (!NAME.test(database)) throw invalid('clickhouse', `database "${database}" must be letters, digits and _`);
  if (cluster !== undefined && !NAME.test(cluster))
    throw invalid('cluster', `"${cluster}" must be letters, digits and _ (a name in remote_servers)`);
  if (cluster === undefined && parsed.length > 1) throw invalid('cluster', 'is required when --clickhouse lists several servers');
  return {
    urls: parsed.map((u) => `${u.protocol}//${u.host}`),
    database,
    cluster: cluster ?? null,
    // http://user:password@host:8123/db, as for --pg; the first URL's credentials serve every shard.
    username: decodeURIComponent(parsed[0]!.username) || 'default',
    password: decodeURIComponent(parsed[0]!.password),
  };
}

// Loaded when a ClickHouse store is opened, not when any `tally` command starts.
const requireClient = () => createRequire(import.meta.url)('@clickhouse/client') as typeof import('@clickhouse/client');

function client(url: string, target: ClickHouseTarget, database = target.database): ClickHouseClient {
  const ch = requireClient();
  return ch.createClient({
    url,
    database,
    username: target.username,
    password: target.password,
    request_timeout: 120_000,
    // The collector reports errors itself; the client's own console logging would duplicate them.
    log: { level: ch.ClickHouseLogLevel.OFF },
    clickhouse_settings: { max_query_size: '67108864' } as never,
  });
}

export function openClickHouse(target: ClickHouseTarget): ChConnection {
  const servers = target.urls.map((u) => client(u, target));
  const tables: ChTables = target.cluster ? { events: 'events', rollups: 'rollups' } : { events: 'events_local', rollups: 'rollups_local' };
  let closed = false;
  return {
    target,
    tables,
    entry: servers[0]!,
    servers,
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}

/** A client on `database` (e.g. `default`, before the collector's database exists). */
export function clientOn(url: string, target: ClickHouseTarget, database: string): ClickHouseClient {
  return client(url, target, database);
}

/**
 * A SELECT given a set of strings as the external table `name` (one column `id`, sent as TSV in
 * a multipart body): ClickHouse builds the set from data, not from a 10 000-literal IN list it
 * would have to parse (~150-300 ms a batch on 18.16). The client has no external data, so: fetch.
 */
export async function selectWithSet<T>(c: ChConnection, query: string, name: string, values: readonly string[]): Promise<T[]> {
  const url = new URL(c.target.urls[0]!);
  url.searchParams.set('database', c.target.database);
  url.searchParams.set('query', `${query} FORMAT JSONEachRow`);
  url.searchParams.set(`${name}_structure`, 'id String');
  url.searchParams.set(`${name}_format`, 'TSV');
  const form = new FormData();
  // Values are validated ids (no tabs, newlines or backslashes), so TSV needs no escaping.
  form.set(name, new Blob([values.join('\n') + '\n']), name);
  const auth = Buffer.from(`${c.target.username}:${c.target.password}`).toString('base64');
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', body: form, headers: { authorization: `Basic ${auth}` } });
  } catch (err) {
    throw unreachable((err as { cause?: unknown }).cause ?? err) ?? err;
  }
  const text = await res.text();
  if (!res.ok) throw new Error(`ClickHouse: ${text.trim().slice(0, 500)}`);
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);
}

/** A SQL string literal. Values are validated before they get here; this keeps them literal anyway. */
export function str(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** ClickHouse sends 64-bit integers as JSON strings: exact numbers, or refused past 2^53. */
export function exactNumber(v: string | number): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) && typeof v === 'string' && /^-?\d+$/.test(v))
    throw new TallyError('unsupported', `a total of ${v} is beyond exact JS numbers (2^53)`);
  return n;
}

/** Rows of a SELECT as objects. */
export async function rows<T>(c: ClickHouseClient, query: string, settings?: Record<string, string>): Promise<T[]> {
  const rs = await c.query({ query, format: 'JSONEachRow', ...(settings ? { clickhouse_settings: settings as never } : {}) });
  return rs.json<T>();
}

/** A ClickHouse that cannot be reached is `unavailable` (503 to agents, who retry), not internal. */
export function unreachable(err: unknown): TallyError | null {
  const code = (err as { code?: string }).code;
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT' || code === 'EHOSTUNREACH')
    return new TallyError('unavailable', `ClickHouse cannot be reached (${code})`, { cause: err });
  return null;
}
