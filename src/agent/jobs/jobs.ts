// What each maintenance job does, as one function of the agent context that returns a one-line
// result (or throws). The runner (schedule.ts) times them and logs the outcome.
import fs from 'node:fs';
import path from 'node:path';
import { archiveRecords } from '../../archive/archive';
import { runMaintenance } from '../../archive/maintenance';
import { dayStart, monthStart, MS } from '../../core/time';
import { exportRecords } from '../../exports/export';
import type { AgentContext } from '../../handlers/context';
import { checkAlerts } from '../../quotas/alerts';
import { backupDatabase } from '../../storage/backup';
import type { JobName, ScheduleConfig } from './config';

export type Job = (ctx: AgentContext, config: ScheduleConfig) => Promise<string>;

function dataFolder(ctx: AgentContext, sub: string, configured: string | null): string {
  const dir = configured ?? path.join(path.dirname(ctx.tdb.path), sub);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** The previous whole UTC day or month before `now`. */
export function previousPeriod(period: 'previous-day' | 'previous-month', now: number): { from: number; to: number } {
  if (period === 'previous-day') {
    const to = dayStart(now);
    return { from: to - MS.DAY, to };
  }
  const to = monthStart(now);
  return { from: monthStart(to - 1), to };
}

const exportJob: Job = async (ctx, config) => {
  const c = config.export;
  await ctx.writer.flush();
  const r = await exportRecords({
    dbPath: ctx.tdb.path,
    format: c.format,
    dir: dataFolder(ctx, 'exports', c.folder),
    ...previousPeriod(c.period, ctx.now()),
    // A re-run of the same period replaces its file: the newest run saw the most late records.
    force: true,
    currency: ctx.config.currency,
    now: ctx.now(),
  });
  return `exported ${r.records} records (total ${r.summary.total_cost}) to ${r.file}`;
};

const alertsJob: Job = async (ctx) => {
  const r = await checkAlerts(ctx.tdb.db, { now: ctx.now(), thresholds: ctx.config.alerts, timezone: ctx.config.timezone });
  for (const a of r.alerts) ctx.events.emit('alerts.new', a);
  return `${r.status.length} quotas checked, ${r.alerts.length} new alerts${r.exceeded ? ', a quota is exceeded' : ''}`;
};

const archiveJob: Job = async (ctx, config) => {
  await ctx.writer.flush();
  const now = ctx.now();
  const r = await archiveRecords({ dbPath: ctx.tdb.path, cutoff: now - config.archive.retentionDays * MS.DAY, now });
  return r.file === null ? `nothing older than ${config.archive.retentionDays} days` : `archived ${r.archived} records to ${r.file}`;
};

const optimizeJob: Job = async (ctx) => {
  await ctx.writer.flush();
  const r = runMaintenance(ctx.tdb.sqlite);
  return r.vacuumed
    ? `checkpointed, optimized, vacuumed (${r.bytesBefore} → ${r.bytesAfter} bytes)`
    : `checkpointed and optimized (${r.reason})`;
};

/** `tally backup` (storage/backup.ts: online backup, verified copy), into a folder keeping the newest `keep`. */
const backupJob: Job = async (ctx, config) => {
  const c = config.backup;
  await ctx.writer.flush();
  const dir = dataFolder(ctx, 'backups', c.folder);
  const stamp = new Date(ctx.now()).toISOString().replace(/[:.]/g, '-');
  const r = await backupDatabase(ctx.tdb.path, path.join(dir, `tally-backup-${stamp}.db`), { force: true });
  const old = fs
    .readdirSync(dir)
    .filter((f) => /^tally-backup-.*\.db$/.test(f))
    .sort()
    .slice(0, -c.keep);
  for (const f of old) fs.rmSync(path.join(dir, f), { force: true });
  return `backed up ${r.records} records to ${r.file} (integrity ok)${old.length ? `, removed ${old.length} older` : ''}`;
};

export const JOBS: Readonly<Record<JobName, Job>> = {
  export: exportJob,
  alerts: alertsJob,
  archive: archiveJob,
  optimize: optimizeJob,
  backup: backupJob,
};
