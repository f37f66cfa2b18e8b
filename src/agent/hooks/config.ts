// Alert hooks in the config file: signed webhooks and commands, each for some alert levels.
// The webhook's secret lives in the config file (0600 when Settings writes it), never in the
// database or a log.
import { z } from 'zod';

const NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const LEVELS = z.array(z.enum(['warning', 'critical', 'exceeded', 'forecast'])).min(1);

export const WebhookSchema = z.strictObject({
  name: z.string().regex(NAME, 'a-z, 0-9, _ and - (at most 64)'),
  url: z.string().refine((u) => /^https?:\/\/[^\s]+$/.test(u) && URL.canParse(u), 'an http(s) URL'),
  /** HMAC-SHA256 key for the Tally-Signature header. */
  secret: z.string().min(16, 'at least 16 characters'),
  /** Which levels this hook hears (default: all). */
  levels: LEVELS.optional(),
});

export const CommandHookSchema = z.strictObject({
  name: z.string().regex(NAME, 'a-z, 0-9, _ and - (at most 64)'),
  /** Program and arguments, run without a shell; the alert arrives as JSON on stdin. */
  command: z.array(z.string().min(1)).min(1),
  levels: LEVELS.optional(),
});

export const HooksSchema = z
  .strictObject({
    webhooks: z.array(WebhookSchema).max(20),
    commands: z.array(CommandHookSchema).max(20),
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

export type HooksConfig = z.infer<typeof HooksSchema>;
export type WebhookConfig = z.infer<typeof WebhookSchema>;
export type CommandHookConfig = z.infer<typeof CommandHookSchema>;

export function defaultHooksConfig(): HooksConfig {
  return { webhooks: [], commands: [], maxAttempts: 8, timeoutSeconds: 10, retryBaseSeconds: 2 };
}
