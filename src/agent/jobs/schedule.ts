// Runs the enabled maintenance jobs on their cron expressions. A run never overlaps itself;
// each outcome (ok or the error, in one line) goes to the schedule_runs log and the agent's log.
import { createCronTask, type CronTask } from '../cron';
import type { AgentContext } from '../../handlers/context';
import { ScheduleRunRepo, type ScheduleRun } from '../../storage/repos/hooks';
import { defaultScheduleConfig, JOB_NAMES, type JobName, type ScheduleConfig } from './config';
import { JOBS } from './jobs';

export interface MaintenanceSchedule {
  /** Runs one job now, as the schedule would (Settings' "Run now"). */
  runNow(job: JobName): Promise<ScheduleRun>;
  last(): Map<string, ScheduleRun>;
  stop(): Promise<void>;
}

export function scheduleConfigOf(ctx: AgentContext): ScheduleConfig {
  return ctx.config.schedule ?? defaultScheduleConfig();
}

/** One run of one job: timed, its outcome (ok or the error, in one line) logged. Never throws. */
export async function runJob(
  ctx: AgentContext,
  job: JobName,
  config: ScheduleConfig = scheduleConfigOf(ctx),
  repo = new ScheduleRunRepo(ctx.tdb.sqlite),
  log: (line: Record<string, unknown>) => void = () => undefined,
): Promise<ScheduleRun> {
  const started = Date.now();
  let ok = true;
  let result: string;
  try {
    result = await JOBS[job](ctx, config);
  } catch (err) {
    ok = false;
    result = (err as Error).message;
  }
  const finished = Date.now();
  repo.log(job, started, finished, ok, result);
  log({ level: ok ? 'info' : 'error', msg: `scheduled ${job} ${ok ? 'done' : 'failed'}`, job, result, ms: finished - started });
  return { job, startedAt: new Date(started).toISOString(), finishedAt: new Date(finished).toISOString(), ok, result };
}

export function startMaintenanceSchedule(
  ctx: AgentContext,
  o: { log?: (line: Record<string, unknown>) => void } = {},
): MaintenanceSchedule {
  const config = scheduleConfigOf(ctx);
  const repo = new ScheduleRunRepo(ctx.tdb.sqlite);
  const log = o.log ?? (() => undefined);
  const running = new Map<JobName, Promise<ScheduleRun>>();

  const run = (job: JobName): Promise<ScheduleRun> => {
    const busy = running.get(job);
    if (busy) return busy;
    const p = runJob(ctx, job, config, repo, log).finally(() => running.delete(job));
    running.set(job, p);
    return p;
  };

  const tasks: CronTask[] = [];
  for (const job of JOB_NAMES) {
    const c = config[job];
    if (!c.enabled) continue;
    const task = createCronTask(c.cron, () => void run(job), { name: `maintenance:${job}`, noOverlap: true });
    void task.start();
    tasks.push(task);
  }

  return {
    runNow: run,
    last: () => repo.last(),
    async stop() {
      for (const t of tasks) await t.destroy();
      await Promise.allSettled([...running.values()]);
    },
  };
}
