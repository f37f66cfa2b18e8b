// The seed's maintenance schedule, inside the agent: each job has a cron expression and an on/off
// switch. Defaults are safe: only the daily checkpoint/optimize runs until the user turns more on.
import path from 'node:path';
import { z } from 'zod';
import { isCronExpression } from '../../config/cron';
import { once } from '../../core/objects';

export const JOB_NAMES = ['export', 'alerts', 'archive', 'optimize', 'backup'] as const;
export type JobName = (typeof JOB_NAMES)[number];

/** The `schedule` section's schema (built on first use: see once()). */
export const scheduleSchema = once(() => {
  const Cron = z.string().refine(isCronExpression, 'must be a cron expression (5 fields, or 6 with seconds), e.g. "0 3 * * *"');
  const Folder = z
    .string()
    .min(1)
    .refine((p) => path.isAbsolute(p) && !p.includes('\0'), 'must be an absolute path')
    .nullable();
  return z.strictObject({
    /** The seed's daily report export (and its monthly billing export): the previous day or month. */
    export: z.strictObject({
      enabled: z.boolean(),
      cron: Cron,
      format: z.enum(['csv', 'json', 'xlsx']),
      period: z.enum(['previous-day', 'previous-month']),
      /** Where the files go; null: <data folder>/exports. */
      folder: Folder,
    }),
    alerts: z.strictObject({ enabled: z.boolean(), cron: Cron }),
    archive: z.strictObject({
      enabled: z.boolean(),
      cron: Cron,
      /** Records older than this many days are archived (the seed keeps 90). */
      retentionDays: z.number().int().min(1).max(36_500),
    }),
    optimize: z.strictObject({ enabled: z.boolean(), cron: Cron }),
    backup: z.strictObject({
      enabled: z.boolean(),
      cron: Cron,
      /** Where backups go; null: <data folder>/backups. */
      folder: Folder,
      /** How many backups to keep (older ones are removed). */
      keep: z.number().int().min(1).max(1000),
    }),
  });
});

export type ScheduleConfig = z.infer<ReturnType<typeof scheduleSchema>>;

export function defaultScheduleConfig(): ScheduleConfig {
  return {
    export: { enabled: false, cron: '15 0 * * *', format: 'csv', period: 'previous-day', folder: null },
    alerts: { enabled: false, cron: '0 * * * *' },
    archive: { enabled: false, cron: '0 3 1 * *', retentionDays: 90 },
    optimize: { enabled: true, cron: '30 4 * * *' },
    backup: { enabled: false, cron: '0 2 * * *', folder: null, keep: 7 },
  };
}
