// Alert hooks in the config file: signed webhooks and commands, each for some alert levels.
// The webhook's secret lives in the config file (0600 when Settings writes it), never in the
// database or a log.
import { z } from 'zod';
import { once } from '../../core/objects';

const NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** The `hooks` section's schema (built on first use: see once()). */
export const hooksSchema = once(() => {
  const levels = z.array(z.enum(['warning', 'critical', 'exceeded', 'forecast'])).min(1);
  const webhook = z.strictObject({
    name: z.string().regex(NAME, 'a-z, 0-9, _ and - (at most 64)'),
    url: z.string().refine((u) => /^https?:\/\/[^\s]+$/.test(u) && URL.canParse(u), 'an http(s) URL'),
    /** HMAC-SHA256 key for the Tally-Signature header. */
    secret: z.string().min(16, 'at least 16 characters'),
    /** Which levels this hook hears (default: all). */
    levels: levels.optional(),
  });
  const commandHook = z.strictObject({
    name: z.string().regex(NAME, 'a-z, 0-9, _ and - (at most 64)'),
    /** Program and arguments, run without a shell; the alert arrives as JSON on stdin. */
    command: z.array(z.string().min(1)).min(1),
    levels: levels.optional(),
  });
  return z
    .strictObject({
      webhooks: z.array(webhook).max(20),
      commands: z.array(commandHook).max(20),
      /** Attempts per alert and hook before giving up (retries back off exponentially). */
      maxAttempts: z.number().int().min(1).max(20),
      /** Per attempt: a webhook's response or a command's exit. */
      timeoutSeconds: z.number().min(0.1).max(300),
      /** First retry delay; each next one doubles (with jitter), up to five minutes. */
      retryBaseSeconds: z.number().min(0.01).max(600),
    })
    .refine((h) => new Set([...h.webhooks, ...h.commands].map((x) => x.name)).size === h.webhooks.length + h.commands.length, {
      message: 'hook names must be unique',
      path: ['webhooks'],
    });
});

export type HooksConfig = z.infer<ReturnType<typeof hooksSchema>>;
export type WebhookConfig = HooksConfig['webhooks'][number];
export type CommandHookConfig = HooksConfig['commands'][number];

export function defaultHooksConfig(): HooksConfig {
  return { webhooks: [], commands: [], maxAttempts: 8, timeoutSeconds: 10, retryBaseSeconds: 2 };
}
