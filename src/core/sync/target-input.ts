// What a user gives for a sync target (config file, CLI, UI) and the endpoint URL check. Kept apart
// from the adapters so that parsing a config loads only these schemas.
import { z } from 'zod';
import { invalid } from '../errors';
import { once } from '../objects';
import { TARGET_KINDS, type TargetKind } from './types';

export const TARGET_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** An endpoint URL: https, or http only to this machine (tokens must not cross a network in clear). */
export function checkEndpointUrl(field: string, text: unknown): string {
  if (typeof text !== 'string' || text.trim() === '') throw invalid(field, 'is required (the endpoint URL)');
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw invalid(field, `"${text.slice(0, 100)}" is not a URL`);
  }
  if (url.username || url.password) throw invalid(field, 'must not carry credentials: give the token separately');
  if (url.protocol === 'https:') return url.toString().replace(/\/+$/, '');
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return url.toString().replace(/\/+$/, '');
  if (url.protocol === 'http:')
    throw invalid(field, `must use https:// (plain http is allowed only for loopback hosts, not ${url.hostname})`);
  throw invalid(field, `must be an https:// URL, not ${url.protocol}`);
}

/** A target's adapter options (built on first use: see once()). */
export const targetOptionsSchema = once(() => {
  const stringMap = z.record(z.string().min(1).max(256), z.string().min(1).max(256));
  return z.strictObject({
    eventNames: stringMap.optional(),
    customers: stringMap.optional(),
    streamUrl: z.string().optional(),
    stripeVersion: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$/, 'a Stripe API version such as 2026-04-22.preview')
      .optional(),
    valueProperty: z.string().min(1).max(128).optional(),
    api: z.enum(['v1', 'v2']).optional(),
  });
});

/** What a user gives for a target (config file, CLI, UI); built on first use. */
export const targetInputSchema = once(() =>
  z.strictObject({
    name: z.string().regex(TARGET_NAME, 'lower-case letters, digits, _ and - (at most 64)'),
    kind: z.enum(TARGET_KINDS as [TargetKind, ...TargetKind[]]),
    url: z.string().min(1),
    token: z.string().min(1).max(4096).nullable().optional(),
    /** Config file only: read the token from this file, or this environment variable, at start. */
    tokenFile: z.string().min(1).optional(),
    tokenEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')
      .optional(),
    batchSize: z.number().int().min(1).max(20_000).optional(),
    enabled: z.boolean().optional(),
    options: targetOptionsSchema().optional(),
  }),
);
export type TargetInput = z.infer<ReturnType<typeof targetInputSchema>>;
