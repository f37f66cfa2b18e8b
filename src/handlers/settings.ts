// Service layer for Settings › Schedule and Alert hooks: the maintenance schedule (saved into the
// agent's config file, applied on the next start; a job can also run now), the hooks without
// their secrets, the delivery log, and the currency every human surface uses.
import path from 'node:path';
import { defaultScheduleConfig, scheduleSchema, type ScheduleConfig } from '../agent/jobs/config';
import { runJob } from '../agent/jobs/schedule';
import type { ScheduleSection, SchedulePatch, SettingsState, settingsArgs } from '../core/api/settings';
import { invalid } from '../core/errors';
import { defaultConfigFile } from '../config/paths';
import { HookDeliveryRepo, ScheduleRunRepo } from '../storage/repos/hooks';
import { merge, readConfigFile, writeConfigFile } from './collectors';
import type { AgentContext } from './context';
import type { Implementation } from './handlers';

// The schema's type is the contract's JSON shape: this fails the typecheck if they drift apart.
const toSection = (c: ScheduleConfig): ScheduleSection => c;
const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function validate(section: unknown): ScheduleConfig {
  const result = scheduleSchema().safeParse(section);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
  const where = [...issue.path, ...keys.slice(0, 1)].map(String).join('.');
  throw invalid(`schedule.${where}`, keys.length ? 'is not a setting' : issue.message);
}

export function settingsHandlers(ctx: AgentContext): Implementation<keyof typeof settingsArgs> {
  const configFile = path.resolve(ctx.configFile ?? defaultConfigFile());
  const running = ctx.config.schedule ?? defaultScheduleConfig();

  const saved = (): ScheduleConfig => {
    const fromFile = readConfigFile(configFile).schedule;
    if (fromFile === undefined) return running;
    const next = scheduleSchema().safeParse(merge(defaultScheduleConfig(), fromFile));
    return next.success ? next.data : running;
  };

  const state = (schedule: ScheduleConfig = saved()): SettingsState => {
    const hooks = ctx.config.hooks;
    return {
      currency: ctx.config.currency,
      schedule: toSection(schedule),
      configFile,
      restartNeeded: !sameJson(schedule, running),
      lastRuns: [...new ScheduleRunRepo(ctx.tdb.sqlite).last().values()],
      hooks: [
        ...(hooks?.webhooks ?? []).map((w) => ({ name: w.name, kind: 'webhook' as const, target: w.url, levels: w.levels ?? null })),
        ...(hooks?.commands ?? []).map((c) => ({
          name: c.name,
          kind: 'command' as const,
          target: c.command.join(' '),
          levels: c.levels ?? null,
        })),
      ],
      deliveries: new HookDeliveryRepo(ctx.tdb.sqlite).recent(50),
    };
  };

  return {
    'settings.get': () => state(),
    'schedule.set': ({ schedule }: { schedule: SchedulePatch }) => {
      if (typeof schedule !== 'object' || schedule === null || Array.isArray(schedule)) throw invalid('schedule', 'must be an object');
      const file = readConfigFile(configFile);
      const section = validate(merge(saved(), schedule));
      writeConfigFile(configFile, { ...file, schedule: section });
      return state(section);
    },
    'schedule.run': ({ job }) => runJob(ctx, job),
  };
}
