// tally collector: the central receiver for many agents, on PostgreSQL (records optionally in
// ClickHouse: --store clickhouse). serve (HTTP or HTTPS),
// per-agent tokens (issue/revoke/list), org-wide report and export over every host, and
// forwarding the collected records to OpenMeter / Lago / Stripe with the agents' sync worker.
import fs from 'node:fs';
import { Command } from 'commander';
import { invalid } from '../../core/errors';
import { formatReportCsv, formatReportTable } from '../../analytics/usage';
import { defaultSyncConfig, syncConfigSchema, type SyncConfig } from '../../core/sync/config';
import { resolveTarget } from '../../core/sync/targets';
import { migrateCollector, openCollectorDb, type CollectorDb } from '../../collector/db';
import { PgOutbox } from '../../collector/outbox';
import { copyStoreToClickHouse, openCollector, storeKind, type OpenCollector, type StoreOptions } from '../../collector/open';
import { collectorReport, ensureCollectorServices } from '../../collector/report';
import { startCollector } from '../../collector/server';
import { issueToken, listTokens, revokeTokens } from '../../collector/tokens';
import { SyncEngine } from '../../sync/worker';
import { syncUntilDone } from '../../sync/run';
import { parseNumberArg, parseRange } from '../args';
import { globals } from '../context';
import { formatTable, print, printJson } from '../output';

function pgUrl(o: { pg?: string }): string {
  const url = o.pg ?? process.env.TALLY_COLLECTOR_PG;
  if (!url) throw invalid('pg', 'is required: --pg postgres://user@host:5432/db (or TALLY_COLLECTOR_PG)');
  return url;
}

async function withCollectorDb<T>(o: { pg?: string }, fn: (c: CollectorDb) => Promise<T>): Promise<T> {
  const c = openCollectorDb(pgUrl(o));
  try {
    await migrateCollector(c.pool);
    return await fn(c);
  } finally {
    await c.close();
  }
}

/** The forwarding targets: a JSON file {"sync": {...}} in the agent's config format. */
function readForwardConfig(file: string): SyncConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw invalid('forward-config', `${file}: ${(err as Error).message}`);
  }
  const section = (raw as { sync?: unknown }).sync ?? raw;
  const merged = { ...defaultSyncConfig(), ...(section as object) };
  const parsed = syncConfigSchema().safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalid(`forward-config sync.${issue.path.join('.')}`, issue.message);
  }
  return parsed.data;
}

function forwardEngine(c: CollectorDb, sync: SyncConfig, log?: (l: Record<string, unknown>) => void) {
  const engine = new SyncEngine({
    outbox: new PgOutbox(c.db),
    timeoutMs: sync.timeoutSeconds * 1000,
    backoff: { baseMs: sync.backoff.baseSeconds * 1000, maxMs: sync.backoff.maxSeconds * 1000 },
    ...(log ? { log } : {}),
  });
  return { engine, targets: sync.targets.map((t, i) => resolveTarget(t, 'config', `sync.targets.${i}`)) };
}

/** Control db and record store (--store, --clickhouse, --cluster), migrated, closed after fn. */
async function withCollector<T>(o: { pg?: string } & StoreOptions, fn: (c: OpenCollector) => Promise<T>): Promise<T> {
  const c = await openCollector(pgUrl(o), o);
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

function storeFlags(cmd: Command): Command {
  return cmd
    .option('--store <kind>', 'where records are kept: postgres or clickhouse (env TALLY_COLLECTOR_STORE)')
    .option('--clickhouse <urls>', 'ClickHouse HTTP URL(s), comma-separated shards: http://host:8123/db (env TALLY_COLLECTOR_CLICKHOUSE)')
    .option('--cluster <name>', 'the ClickHouse cluster (remote_servers) whose shards the URLs are');
}

const logLine = (l: Record<string, unknown>) => process.stderr.write(JSON.stringify({ time: new Date().toISOString(), ...l }) + '\n');

export function registerCollector(program: Command): void {
  const collector = program
    .command('collector')
    .description('the central receiver for many agents, on PostgreSQL (records optionally in ClickHouse)');

  storeFlags(collector.command('serve'))
    .description('receive records from agents (POST /v1/records with an agent token)')
    .option('--pg <url>', 'PostgreSQL connection URL: tokens, services, forwarding (env TALLY_COLLECTOR_PG)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port', '7879')
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM)')
    .option('--tls-key <file>', 'and this private key (PEM)')
    .option('--rate <n>', 'requests per second per agent token', '50')
    .option('--burst <n>', 'requests an agent token may send at once', '100')
    .option('--forward-config <file>', 'also forward every record to the targets in this file ({"sync": {"targets": […]}})')
    .action(
      async (
        o: StoreOptions & {
          pg?: string;
          host: string;
          port: string;
          tlsCert?: string;
          tlsKey?: string;
          rate: string;
          burst: string;
          forwardConfig?: string;
        },
      ) => {
        if ((o.tlsCert === undefined) !== (o.tlsKey === undefined))
          throw invalid(o.tlsCert ? 'tls-key' : 'tls-cert', 'give both --tls-cert and --tls-key');
        const port = parseNumberArg('port', o.port, { integer: true, min: 0 });
        const rate = {
          perSecond: parseNumberArg('rate', o.rate, { min: 0.001 }),
          burst: parseNumberArg('burst', o.burst, { integer: true, min: 1 }),
        };
        const forward = o.forwardConfig ? readForwardConfig(o.forwardConfig) : null;
        // Forwarding reads the records by the PostgreSQL store's seq; ClickHouse has none.
        if (forward && storeKind(o) === 'clickhouse')
          throw invalid('forward-config', 'forwarding needs --store postgres (it reads records in seq order)');
        const opened = await openCollector(pgUrl(o), o, { max: 20 });
        const c = opened.control;
        await ensureCollectorServices(c.db, Date.now());
        const running = await startCollector({
          db: c.db,
          store: opened.store,
          host: o.host,
          port,
          rate,
          log: logLine,
          ...(o.tlsCert && o.tlsKey ? { tls: { certFile: o.tlsCert, keyFile: o.tlsKey } } : {}),
        });
        print(`tally collector listening on ${running.url}`);
        const stop = new AbortController();
        let forwarding: Promise<unknown> = Promise.resolve();
        if (forward) {
          const { engine, targets } = forwardEngine(c, forward, logLine);
          forwarding = (async () => {
            while (!stop.signal.aborted) {
              await syncUntilDone(engine, targets, { signal: stop.signal, deadline: Date.now() + forward.intervalSeconds * 1000 });
              await new Promise((r) => setTimeout(r, forward.intervalSeconds * 1000));
            }
          })();
        }
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        stop.abort();
        await running.close();
        await forwarding.catch(() => undefined);
        await opened.close();
      },
    );

  collector
    .command('forward')
    .description('forward the collected records to OpenMeter / Lago / Stripe once, then exit')
    .option('--pg <url>', 'PostgreSQL connection URL (env TALLY_COLLECTOR_PG)')
    .requiredOption('--forward-config <file>', 'targets: {"sync": {"targets": […]}}')
    .action(async (o: { pg?: string; forwardConfig: string }, cmd: Command) => {
      const g = globals(cmd);
      const sync = readForwardConfig(o.forwardConfig);
      const results = await withCollectorDb(o, async (c) => {
        const { engine, targets } = forwardEngine(c, sync);
        return syncUntilDone(engine, targets);
      });
      if (g.json) return printJson(results);
      for (const r of results)
        print(`${r.target}: ${r.status}, ${r.delivered} delivered, ${r.rejected} rejected${r.error ? ` (${r.error})` : ''}`);
      if (results.some((r) => r.status !== 'idle')) process.exitCode = 1;
    });

  const token = collector.command('token').description("agent tokens: each is bound to one agent's host id");
  token
    .command('issue')
    .argument('<host-id>', "the agent's hostId (its config's hostId or TALLY_HOST_ID)")
    .option('--pg <url>')
    .description("issue a token for one agent; it is printed once, store it in the agent's sync target")
    .action(async (hostId: string, o: { pg?: string }, cmd: Command) => {
      const g = globals(cmd);
      const t = await withCollectorDb(o, (c) => issueToken(c.db, hostId, Date.now()));
      if (g.json) return printJson(t);
      print(t.token);
      process.stderr.write(
        `token ${t.id} for host ${t.hostId}: shown once; on the agent: tally sync target add collector --kind tally --url https://… --token-file <file>\n`,
      );
    });
  token
    .command('revoke')
    .argument('<token-id-or-host-id>')
    .option('--pg <url>')
    .description('revoke one token (by id) or every token of a host id')
    .action(async (which: string, o: { pg?: string }, cmd: Command) => {
      const g = globals(cmd);
      const n = await withCollectorDb(o, (c) => revokeTokens(c.db, which, Date.now()));
      if (g.json) return printJson({ revoked: n });
      print(`revoked ${n} token${n === 1 ? '' : 's'}`);
    });
  token
    .command('list')
    .option('--pg <url>')
    .description('tokens with their host ids (never the tokens themselves)')
    .action(async (o: { pg?: string }, cmd: Command) => {
      const g = globals(cmd);
      const rows = await withCollectorDb(o, (c) => listTokens(c.db));
      if (g.json) return printJson(rows);
      print(
        formatTable(
          ['id', 'host', 'created', 'revoked'],
          rows.map((r) => [r.id, r.hostId, r.createdAt, r.revokedAt ?? '']),
        ),
      );
    });

  storeFlags(collector.command('report'))
    .description('usage and cost per service over every host (default: this month)')
    .option('--pg <url>')
    .option('--from <date>')
    .option('--to <date>')
    .option('--month <YYYY-MM>')
    .option('--service <name>')
    .option('--customer <id>', 'one customer')
    .option('--format <format>', 'table, json or csv', 'table')
    .option('--detailed', 'add a per-day breakdown (json)')
    .action(
      async (
        o: StoreOptions & {
          pg?: string;
          from?: string;
          to?: string;
          month?: string;
          service?: string;
          customer?: string;
          format: string;
          detailed?: boolean;
        },
        cmd: Command,
      ) => {
        const g = globals(cmd);
        if (!['table', 'json', 'csv'].includes(o.format)) throw invalid('format', `"${o.format}" must be table, json or csv`);
        const format = g.json ? 'json' : o.format;
        const range = parseRange(o);
        const report = await withCollector(o, async (c) => {
          await ensureCollectorServices(c.control.db, Date.now());
          const q = { ...range, service: o.service, customerId: o.customer, detailed: o.detailed };
          return collectorReport(c.control.db, q, Date.now(), c.store);
        });
        if (format === 'json') return printJson(report);
        if (format === 'csv') return print(formatReportCsv(report));
        print(formatReportTable(report));
      },
    );

  storeFlags(collector.command('export'))
    .description('every record of a period, all hosts, as CSV (PostgreSQL: streamed by COPY)')
    .option('--pg <url>')
    .option('--from <date>')
    .option('--to <date>')
    .option('--month <YYYY-MM>')
    .option('--out <file>', 'write here instead of stdout')
    .action(async (o: StoreOptions & { pg?: string; from?: string; to?: string; month?: string; out?: string }) => {
      const range = parseRange(o);
      await withCollector(o, (c) => c.store.exportCsv(range, o.out ? fs.createWriteStream(o.out) : process.stdout));
    });

  collector
    .command('migrate-store')
    .description("copy the PostgreSQL store's records into ClickHouse (skips ids already there: safe to run again)")
    .option('--pg <url>')
    .option('--clickhouse <urls>', 'ClickHouse HTTP URL(s), comma-separated shards (env TALLY_COLLECTOR_CLICKHOUSE)')
    .option('--cluster <name>', 'the ClickHouse cluster whose shards the URLs are')
    .action(async (o: StoreOptions & { pg?: string }, cmd: Command) => {
      const g = globals(cmd);
      const done = await copyStoreToClickHouse(pgUrl(o), o, (p) => {
        if (!g.json) process.stderr.write(`copied ${p.read} records (${p.inserted} new)\n`);
      });
      if (g.json) return printJson(done);
      print(`${done.read} records read from PostgreSQL, ${done.inserted} new in ClickHouse`);
    });
}
