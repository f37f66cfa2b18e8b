// API contract: Settings › Schedule and Alert hooks, and how money is shown. The maintenance
// schedule is saved into the agent's config file and applies on the next agent start; hooks are
// shown without their secrets, with the log of delivery attempts.
import { z } from 'zod';

export interface ScheduleSection {
  readonly export: {
    readonly enabled: boolean;
    readonly cron: string;
    readonly format: 'csv' | 'json' | 'xlsx';
    readonly period: 'previous-day' | 'previous-month';
    readonly folder: string | null;
  };
  readonly alerts: { readonly enabled: boolean; readonly cron: string };
  readonly archive: { readonly enabled: boolean; readonly cron: string; readonly retentionDays: number };
  readonly optimize: { readonly enabled: boolean; readonly cron: string };
  readonly backup: { readonly enabled: boolean; readonly cron: string; readonly folder: string | null; readonly keep: number };
}

export type SchedulePatch = { readonly [J in keyof ScheduleSection]?: Partial<ScheduleSection[J]> };
export const SCHEDULE_JOBS = ['export', 'alerts', 'archive', 'optimize', 'backup'] as const;

export interface JobRun {
  readonly job: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly ok: boolean;
  readonly result: string;
}

export interface HookView {
  readonly name: string;
  readonly kind: 'webhook' | 'command';
  /** The URL, or the program and its arguments; never the secret. */
  readonly target: string;
  readonly levels: readonly string[] | null;
}

export interface HookDelivery {
  readonly alertId: number;
  readonly hook: string;
  readonly attempt: number;
  readonly outcome: 'delivered' | 'failed' | 'gave_up';
  readonly status: number | null;
  readonly error: string | null;
  readonly at: string;
}

export interface SettingsState {
  /** ISO 4217: every human surface shows amounts in its minor unit. */
  readonly currency: string;
  readonly schedule: ScheduleSection;
  readonly configFile: string;
  /** True when the saved schedule is not what the running agent uses yet. */
  readonly restartNeeded: boolean;
  /** The last run of each job that has run. */
  readonly lastRuns: readonly JobRun[];
  readonly hooks: readonly HookView[];
  /** The newest delivery attempts first. */
  readonly deliveries: readonly HookDelivery[];
}

export const settingsArgs = {
  'settings.get': z.strictObject({}),
  /** Validates the whole resulting schedule; an invalid one names its field and changes nothing. */
  'schedule.set': z.strictObject({
    schedule: z.custom<SchedulePatch>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'must be an object'),
  }),
  'schedule.run': z.strictObject({ job: z.enum(SCHEDULE_JOBS) }),
};

export interface SettingsReplies {
  'settings.get': SettingsState;
  'schedule.set': SettingsState;
  'schedule.run': JobRun;
}
