// `tally agent`: the long-running process. It takes the writer lock, opens the database and the
// one batched writer, runs the collectors on their cron schedules, checks quotas after flushes,
// syncs to the configured targets, serves the local HTTP API and dashboard, and logs JSON lines
// to stdout. On SIGTERM/SIGINT it stops the schedules, waits for the runs in progress, flushes,
// and releases the lock. `once` collects once and exits (cron users, tests): no HTTP server then.
import { TallyError } from '../core/errors';
import { ensureBuiltins } from '../storage/repos/services';
import { EventBus, type AgentContext } from '../handlers/context';
import { writerOptions } from './writer-options';
import { createBandwidthCollector } from '../collectors/bandwidth';
import { createComputeCollector } from '../collectors/compute';
import { defaultHostPaths, type HostPaths } from '../collectors/host';
import { CollectorRunner, type CollectorTelemetry } from '../collectors/runner';
import { CollectorStateRepo } from '../collectors/state';
import { createStorageCollector } from '../collectors/storage';
import { systemClocks, type Clocks, type Collector } from '../collectors/types';
import type { Config } from '../config/config';
import { openDatabase } from '../storage/open';
import { builtWorkerFile, inlineReads, workerReads } from '../analytics/heavy';
import { defaultConfigFile } from '../config/paths';
import type { Metrics } from '../server/metrics';
import { acquireWriterLock } from '../storage/lock';
import { BatchedWriter, type StorageProblem } from '../storage/writer';
import { jsonLogger, type Logger } from './log';
import { createCronTask, type CronTask } from './cron';
import { startMemoryTrim } from './memory';
import { scheduleIntervalSeconds } from './schedule';

export interface RunAgentOptions {
  /** Collect once, flush, exit (no HTTP server, no schedules). */
  readonly once?: boolean;
  /** Aborting stops the agent cleanly (the CLI aborts on SIGTERM / SIGINT). */
  readonly signal?: AbortSignal;
  /** Serve the HTTP API and dashboard (default true; never with `once`). */
  readonly http?: boolean;
  readonly log?: Logger;
  /** Human-readable lines (the dashboard address); default: stderr. */
  readonly announce?: (line: string) => void;
  /** Test seams: where /proc and /sys are, and the clocks. */
  readonly hostPaths?: HostPaths;
  readonly clocks?: Clocks;
  /** Called once everything is running (tests, benchmarks). */
  readonly onReady?: (info: AgentInfo) => void;
  /** The config file the config came from (--config); default: defaultConfigFile(). Settings saves there. */
  readonly configFile?: string;
}

export interface AgentInfo {
  readonly pid: number;
  readonly url: string | null;
  readonly dashboardUrl: string | null;
  readonly collectors: readonly string[];
}

export interface AgentSummary {
  readonly collectors: Record<string, { runs: number; errors: number; records: number; unreadable: number; discarded: number }>;
}

/** The collectors the config turns on. */
export function buildCollectors(config: Readonly<Config>, deps: { paths?: HostPaths; clocks?: Clocks } = {}): Collector[] {
  const c = config.collectors;
  const out: Collector[] = [];
  if (c.storage.enabled) {
    const maxGapSeconds = c.storage.maxGapSeconds ?? 3 * scheduleIntervalSeconds(c.storage.schedule);
    out.push(createStorageCollector({ ...c.storage, maxGapSeconds }, deps));
  }
  if (c.bandwidth.enabled) out.push(createBandwidthCollector(c.bandwidth, deps));
  if (c.compute.enabled) out.push(createComputeCollector(c.compute, deps));
  return out;
}

function telemetryFor(metrics: Metrics): CollectorTelemetry {
  const runs = metrics.counter('tally_collector_runs_total', 'Collector runs that completed.', ['collector']);
  const records = metrics.counter('tally_collector_records_total', 'Usage records produced by collectors.', ['collector']);
  const errors = metrics.counter('tally_collector_errors_total', 'Collector runs that failed (logged; the agent keeps running).', [
    'collector',
  ]);
  const unreadable = metrics.counter(
    'tally_collector_unreadable_total',
    'Entries a collector could not read (storage: files and folders not counted).',
    ['collector'],
  );
  const discarded = metrics.counter(
    'tally_collector_discarded_total',
    'Counter deltas discarded as implausible (above the maximum rate).',
    ['collector'],
  );
  const seconds = metrics.histogram(
    'tally_collector_duration_seconds',
    'Time one collector run took.',
    [0.001, 0.01, 0.1, 0.5, 1, 5, 30, 120],
  );
  return {
    run: (c, ms, n) => {
      runs.inc({ collector: c });
      if (n > 0) records.inc({ collector: c }, n);
      seconds.observe(ms / 1000);
    },
    error: (c) => errors.inc({ collector: c }),
    unreadable: (c, n) => unreadable.inc({ collector: c }, n),
    discarded: (c, n) => discarded.inc({ collector: c }, n),
  };
}

function waitForAbort(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

export async function runAgent(config: Readonly<Config>, o: RunAgentOptions = {}): Promise<AgentSummary> {
  const log = o.log ?? jsonLogger();
  // Like Jupyter: the link with its token goes to whoever started the agent in a terminal. Never
  // to a log: journald keeps stderr too, so without a terminal `tally dashboard` prints it on demand.
  const announce = o.announce ?? ((line: string) => void process.stderr.write(line + '\n'));
  const toTerminal = o.announce !== undefined || process.stderr.isTTY === true;
  const lock = acquireWriterLock(config.db, `tally agent${o.once ? ' --once' : ''}`);
  const cleanup: Array<() => Promise<void> | void> = [() => lock.release()];
  const runners: CollectorRunner[] = [];
  const tasks: CronTask[] = [];
  let started = false;
  try {
    const tdb = openDatabase(config.db, { durability: config.writer.durability, quickCheck: true });
    cleanup.unshift(() => tdb.close());
    await ensureBuiltins(tdb.db, Date.now());
    const writer = await BatchedWriter.open(tdb, { ...writerOptions(config), defaultSource: 'agent' });
    cleanup.unshift(async () => {
      await writer.close();
      if (writer.unstoredAtClose > 0)
        log.error('stopping with the disk still full: accepted records could not be stored', { records: writer.unstoredAtClose });
    });
    writer.on('flush-error', (err: Error, info: { retrying: boolean; records: number }) =>
      // A record refused when priced (its cost past one record's limit) is its sender's mistake.
      (err as { code?: string }).code === 'invalid_input'
        ? log.warn('records refused when stored', { error: err.message, records: info.records })
        : log.error('writer flush failed', { error: err.message, ...info }),
    );
    // One line when writing stops (full disk, I/O error) and one when it resumes; retries are silent.
    writer.on('storage-error', (p: StorageProblem) =>
      log.error('writing stopped: requests are refused with 503 until it resumes', { ...p }),
    );
    writer.on('storage-ok', (info: { downMs: number }) => log.info('writing resumed', info));
    // Reports read on their own connection, heavy ones on a worker thread: ingestion keeps its latency.
    const reader = openDatabase(config.db, { readonly: true });
    cleanup.unshift(() => reader.close());
    const workerFile = builtWorkerFile();
    const heavy = workerFile ? workerReads(config.db, workerFile) : inlineReads(reader.db);
    cleanup.unshift(() => heavy.close());
    const ctx: AgentContext = {
      config,
      tdb,
      reader,
      heavy,
      writer,
      events: new EventBus(),
      now: Date.now,
      configFile: o.configFile ?? defaultConfigFile(),
    };

    const state = new CollectorStateRepo(tdb.sqlite);
    let metrics: Metrics | undefined;
    const wantHttp = !o.once && o.http !== false;
    if (wantHttp) {
      const { Metrics: MetricsClass } = await import('../server/metrics');
      metrics = new MetricsClass();
    }
    const telemetry = metrics ? telemetryFor(metrics) : undefined;
    for (const collector of buildCollectors(config, { paths: o.hostPaths ?? defaultHostPaths, clocks: o.clocks ?? systemClocks })) {
      runners.push(new CollectorRunner(collector, { writer, state, log, telemetry }));
    }
    const names = runners.map((r) => r.collector.name);

    if (o.once) {
      await Promise.all(runners.map((r) => r.run()));
      await writer.flush();
      log.info('collected once', { db: config.db, collectors: Object.fromEntries(runners.map((r) => [r.collector.name, r.stats])) });
      o.onReady?.({ pid: process.pid, url: null, dashboardUrl: null, collectors: names });
      return summarize(runners);
    }

    for (const r of runners) {
      const task = createCronTask(r.collector.schedule, () => void r.run(), { name: `collector:${r.collector.name}` });
      tasks.push(task);
    }
    cleanup.unshift(async () => {
      for (const t of tasks) await t.destroy();
      // A long storage walk is interrupted (its sample is simply not taken); counter reads are
      // quick and finish, handing their records to the writer before it closes.
      for (const r of runners) r.stop();
      await Promise.all(runners.map((r) => r.idle()));
    });

    // Quota alerts after flushes, and delivery to the sync targets, run beside the collectors.
    const { createAlertWatcher } = await import('./alerts/watcher');
    const { startSyncWorker } = await import('../sync/run');
    const alerts = createAlertWatcher(ctx, { log: (line) => relay(log, line) });
    cleanup.unshift(() => alerts.stop());
    // Signed webhooks and commands hear each new alert (config hooks; src/agent/hooks).
    const { startAlertHooks } = await import('./hooks/hooks');
    const hooks = startAlertHooks(ctx, { log: (line) => relay(log, line) });
    cleanup.unshift(() => hooks.stop());
    // The seed's maintenance schedule: export, alert check, archive, optimize, backup (config schedule).
    const { startMaintenanceSchedule } = await import('./jobs/schedule');
    const maintenance = startMaintenanceSchedule(ctx, { log: (line) => relay(log, line) });
    cleanup.unshift(() => maintenance.stop());
    const sync = startSyncWorker(ctx, (line) => relay(log, line));
    cleanup.unshift(() => sync.stop());

    let url: string | null = null;
    let dashboardUrl: string | null = null;
    if (wantHttp) {
      const { startHttpServer } = await import('../server/server');
      const server = await startHttpServer(ctx, undefined, { metrics, log: (line) => relay(log, line) }).catch(
        (err: NodeJS.ErrnoException) => {
          if (err.code === 'EADDRINUSE' || err.code === 'EACCES') {
            throw new TallyError(
              'unavailable',
              `http.port: cannot listen on ${config.http.host}:${config.http.port} (${err.code}); choose another with --port or TALLY_PORT (0 picks a free one)`,
              { field: 'http.port' },
            );
          }
          throw err;
        },
      );
      cleanup.unshift(() => server.close());
      url = server.url;
      dashboardUrl = server.dashboardUrl;
      announce(
        toTerminal
          ? `Tally agent is running. Open the dashboard (the link carries the access token):\n    ${dashboardUrl}\n`
          : `Tally agent is running at ${url}. \`tally dashboard\` prints the dashboard link (it carries the access token).\n`,
      );
      log.info('http api listening', { url });
    }
    for (const t of tasks) await t.start();
    // What a burst of requests left behind (young generation, SQLite pages) goes back once quiet.
    const memory = startMemoryTrim({ connections: () => [tdb.sqlite, reader.sqlite] });
    cleanup.unshift(() => memory.stop());
    log.info('agent started', {
      pid: process.pid,
      db: config.db,
      collectors: runners.map((r) => ({ name: r.collector.name, schedule: r.collector.schedule })),
      http: url,
    });
    started = true;
    o.onReady?.({ pid: process.pid, url, dashboardUrl, collectors: names });

    await waitForAbort(o.signal ?? new AbortController().signal);
    log.info('stopping', { reason: String(o.signal?.reason ?? 'signal') });
    return summarize(runners);
  } finally {
    // Reverse order of setup: HTTP, sync, alerts, schedules, writer (flushes), database, lock. A failing step
    // is logged and the rest still run, so the lock is never left behind by a live process.
    // A writer starting meanwhile (a restart) waits for us instead of failing.
    try {
      lock.markStopping();
    } catch {
      // the lock stays as it was; release() still runs last
    }
    for (const step of cleanup) {
      try {
        await step();
      } catch (err) {
        log.error('shutdown step failed', { error: (err as Error).message });
      }
    }
    if (started) log.info('agent stopped');
  }
}

/** The HTTP server's lines are `{level, msg, …}` already: pass them through our logger. */
function relay(log: Logger, line: object): void {
  const { level, msg, ...fields } = line as { level?: string; msg?: string } & Record<string, unknown>;
  const at = level === 'error' || level === 'warn' || level === 'debug' ? level : 'info';
  log[at](typeof msg === 'string' ? msg : 'http', fields);
}

function summarize(runners: readonly CollectorRunner[]): AgentSummary {
  return {
    collectors: Object.fromEntries(
      runners.map((r) => [
        r.collector.name,
        {
          runs: r.stats.runs,
          errors: r.stats.errors,
          records: r.stats.records,
          unreadable: r.stats.unreadable,
          discarded: r.stats.discarded,
        },
      ]),
    ),
  };
}
