// The `sync` section of the agent's config: worker timing and the targets given by file.
import { z } from 'zod';
import { checkEndpointUrl, targetInputSchema } from './target-input';
import { once } from '../objects';
import { TallyError } from '../errors';

/** The `sync` section's schema (built on first use: see once()). */
export const syncConfigSchema = once(() =>
  z.strictObject({
    /** Pause between passes when everything is delivered. */
    intervalSeconds: z.number().min(0.01).max(86_400),
    /** Per request: a hung endpoint counts as a failure after this long. */
    timeoutSeconds: z.number().min(0.05).max(600),
    backoff: z.strictObject({ baseSeconds: z.number().min(0.001).max(3600), maxSeconds: z.number().min(0.001).max(86_400) }),
    targets: z
      .array(
        targetInputSchema().superRefine((t, ctx) => {
          try {
            checkEndpointUrl('url', t.url);
          } catch (err) {
            ctx.addIssue({
              code: 'custom',
              path: ['url'],
              message: err instanceof TallyError ? (err.problem ?? err.message) : String(err),
            });
          }
        }),
      )
      .max(32)
      .refine((ts) => new Set(ts.map((t) => t.name)).size === ts.length, 'target names must be unique'),
  }),
);

export type SyncConfig = z.infer<ReturnType<typeof syncConfigSchema>>;

export function defaultSyncConfig(): SyncConfig {
  return { intervalSeconds: 10, timeoutSeconds: 30, backoff: { baseSeconds: 1, maxSeconds: 300 }, targets: [] };
}
