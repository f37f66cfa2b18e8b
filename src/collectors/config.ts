// The `collectors` config section: what each collector measures and when. Part of the agent's
// config (src/config/config.ts), validated with it, so a bad value names itself
// ("collectors.bandwidth.schedule: …").
import path from 'node:path';
import { z } from 'zod';
import { isCronExpression } from '../config/cron';
import { once } from '../core/objects';
import { CUSTOMER_ID } from '../core/services';

/** The `collectors` section's schema (built on first use: see once()). */
export const collectorsSchema = once(() => {
  const Schedule = z.string().refine(isCronExpression, 'must be a cron expression (5 fields, or 6 with seconds), e.g. "* * * * *"');
  const Pattern = z.string().regex(/^[^\s/]{1,64}$/, 'must be an interface name pattern (* and ? allowed), e.g. "docker*"');
  // A service runs with / as its working directory: a relative path would mean something else there.
  const AbsolutePath = z
    .string()
    .min(1)
    .refine((p) => path.isAbsolute(p) && !p.includes('\0'), 'must be an absolute path');
  const Customer = z.string().regex(CUSTOMER_ID, 'letters, digits and . _ : @ - (at most 128)');
  return z.strictObject({
    storage: z.strictObject({
      enabled: z.boolean(),
      schedule: Schedule,
      /** Folders (or files) measured like `du -s`. */
      paths: z.array(AbsolutePath).max(256),
      /** Mount points (or any path on them) whose used bytes are recorded (statfs). */
      volumes: z.array(AbsolutePath).max(256),
      /** A longer interval between two samples is a gap (see gapPolicy); null: 3 × the schedule's interval. */
      maxGapSeconds: z
        .number()
        .min(1)
        .max(366 * 86_400)
        .nullable(),
      /** A gap billed at the smaller of the readings around it and marked estimated, or not billed. */
      gapPolicy: z.enum(['lower-bound', 'skip']),
      /** Filesystem calls in flight while walking a tree. */
      concurrency: z.number().int().min(1).max(256),
    }),
    bandwidth: z.strictObject({
      enabled: z.boolean(),
      schedule: Schedule,
      /** Interfaces to count; empty: all. */
      include: z.array(Pattern).max(256),
      exclude: z.array(Pattern).max(256),
      /** vnStat's rule: a delta implying more than this per second is discarded and logged. */
      maxRateBytesPerSecond: z.number().positive().max(1e13),
    }),
    compute: z.strictObject({
      enabled: z.boolean(),
      schedule: Schedule,
      /** The whole host's CPU time from /proc/stat. */
      host: z.boolean(),
      /** The cgroup v2 mount; null: /sys/fs/cgroup (or /sys/fs/cgroup/unified on hybrid systems). */
      cgroupRoot: AbsolutePath.nullable(),
      cgroups: z
        .array(
          z.strictObject({
            path: z.string().regex(/^(?!.*(^|\/)\.\.(\/|$))[^\0]{1,512}$/, 'must be a path below the cgroup root, without ".."'),
            customerId: Customer.optional(),
          }),
        )
        .max(256),
      processes: z
        .array(
          z
            .strictObject({
              name: z.string().min(1).max(15, 'a process name (comm) has at most 15 characters').optional(),
              pid: z.number().int().min(1).max(4_194_304).optional(),
              customerId: Customer.optional(),
            })
            .refine((p) => (p.name === undefined) !== (p.pid === undefined), 'give exactly one of name or pid'),
        )
        .max(256),
    }),
  });
});

export type CollectorsConfig = z.infer<ReturnType<typeof collectorsSchema>>;

export const DEFAULT_SCHEDULE = '* * * * *';

export function defaultCollectorsConfig(): CollectorsConfig {
  return {
    storage: {
      enabled: true,
      schedule: DEFAULT_SCHEDULE,
      paths: [],
      volumes: ['/'],
      maxGapSeconds: null,
      gapPolicy: 'lower-bound',
      concurrency: 8,
    },
    bandwidth: {
      enabled: true,
      schedule: DEFAULT_SCHEDULE,
      include: [],
      exclude: ['lo', 'docker*', 'veth*', 'br-*', 'virbr*'],
      // 10 Gbit/s: above any interface this agent is likely to meter; lower it for slower links.
      maxRateBytesPerSecond: 1_250_000_000,
    },
    compute: { enabled: true, schedule: DEFAULT_SCHEDULE, host: true, cgroupRoot: null, cgroups: [], processes: [] },
  };
}
