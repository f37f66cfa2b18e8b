// Configuration: defaults → config file → environment → validated, then frozen.
// Each layer may set any key; a bad value names itself ("config.json: writer.batchSize: …").
import fs from 'node:fs';
import os from 'node:os';
import { z } from 'zod';
import { TallyError } from '../core/errors';
import { CUSTOMER_ID } from '../core/services';
import { isTimeZone } from '../core/zone';
import { defaultSyncConfig, syncConfigSchema } from '../core/sync/config';
import { collectorsSchema, defaultCollectorsConfig } from '../collectors/config';
import { defaultHooksConfig, hooksSchema } from '../agent/hooks/config';
import { defaultScheduleConfig, scheduleSchema } from '../agent/jobs/config';
import { defaultConfigFile, defaultDbPath } from './paths';
import { isObject, once } from '../core/objects';

const IDENTIFIER = 'letters, digits and . _ : @ - (at most 128)';

/**
 * Each top-level key's schema, built on first use (see once()): a layer is checked only in the
 * sections it sets (loadConfig), so a command run on the defaults and a --db builds almost none.
 */
const SECTIONS = {
  db: once(() => z.string().min(1, 'must be a file path, not empty')),
  customerId: once(() => z.string().regex(CUSTOMER_ID, IDENTIFIER)),
  hostId: once(() => z.string().regex(CUSTOMER_ID, IDENTIFIER)),
  currency: once(() => z.string().regex(/^[A-Z]{3}$/, 'a three-letter ISO 4217 code')),
  /** The installation's IANA zone: days, weeks and months of customers without their own zone. */
  timezone: once(() =>
    z
      .string()
      // "UTC" (the default) needs no look-up; any other name is checked against the platform's zones.
      .refine((zone) => zone === 'UTC' || isTimeZone(zone), 'an IANA time zone such as UTC, Europe/Paris or Asia/Kolkata'),
  ),
  /** Balance alerts of prepaid credits: percents of what is granted ("25%") or amounts left ("0"). */
  credits: once(() =>
    z.strictObject({
      balanceAlerts: z
        .array(z.string().regex(/^(\d{1,3}(\.\d{1,4})?%|\d{1,12}(\.\d{1,9})?)$/, 'a percent such as 25% or an amount such as 0'))
        .max(10),
    }),
  ),
  writer: once(() =>
    z.strictObject({
      batchSize: z.number().int().min(1).max(100_000),
      batchTimeoutSeconds: z.number().min(0.01).max(3600),
      maxQueue: z.number().int().min(1).max(10_000_000),
      durability: z.enum(['normal', 'full']),
    }),
  ),
  http: once(() =>
    z.strictObject({
      host: z.string().min(1),
      port: z.number().int().min(0).max(65535),
      /** Listening on anything but loopback must be asked for explicitly. */
      allowNonLoopback: z.boolean(),
      bodyLimitBytes: z
        .number()
        .int()
        .min(1024)
        .max(64 * 1024 * 1024),
      /** Requests per minute a scoped API key may make when it names no rate of its own (token bucket). */
      rateLimitPerMinute: z.number().int().min(1).max(1_000_000),
    }),
  ),
  alerts: once(() =>
    z.strictObject({
      warning: z.number().min(1).max(1000),
      critical: z.number().min(1).max(1000),
      exceeded: z.number().min(1).max(1000),
    }),
  ),
  collectors: collectorsSchema,
  sync: syncConfigSchema,
  /** Alert hooks: signed webhooks and commands (src/agent/hooks). */
  hooks: hooksSchema,
  /** The maintenance schedule inside the agent (src/agent/jobs). */
  schedule: scheduleSchema,
  /** A month closes graceDays after it ends (0: at once); later events bill as adjustments. */
  billing: once(() => z.strictObject({ graceDays: z.number().int().min(0).max(365) })),
};
type Sections = typeof SECTIONS;
type SectionSchemas = { [K in keyof Sections]: ReturnType<Sections[K]> };

/** The whole config's schema: what loadConfig's checks of the sections add up to. */
export const configSchema = once(() =>
  z.strictObject(Object.fromEntries(Object.entries(SECTIONS).map(([key, schema]) => [key, schema()])) as SectionSchemas),
);

export type Config = { [K in keyof Sections]: z.infer<SectionSchemas[K]> };
type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };
export type ConfigInput = DeepPartial<Config>;

export function defaults(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    db: defaultDbPath(env),
    customerId: 'default',
    hostId:
      os
        .hostname()
        .replace(/[^A-Za-z0-9._:@-]/g, '-')
        .replace(/^[^A-Za-z0-9]+/, '') || 'localhost',
    currency: 'USD',
    timezone: 'UTC',
    credits: { balanceAlerts: ['25%', '0'] },
    writer: { batchSize: 100, batchTimeoutSeconds: 5, maxQueue: 100_000, durability: 'normal' },
    http: { host: '127.0.0.1', port: 7878, allowNonLoopback: false, bodyLimitBytes: 5 * 1024 * 1024, rateLimitPerMinute: 1000 },
    alerts: { warning: 75, critical: 90, exceeded: 100 },
    collectors: defaultCollectorsConfig(),
    sync: defaultSyncConfig(),
    hooks: defaultHooksConfig(),
    schedule: defaultScheduleConfig(),
    billing: { graceDays: 3 },
  };
}

// Plain decimals only: Number() would also take "0x10", "1e3" or " 16 ".
const WHOLE = /^-?\d+$/;
const DECIMAL = /^-?(\d+\.?\d*|\.\d+)$/;

function numberFrom(env: NodeJS.ProcessEnv, name: string, whole = false): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!(whole ? WHOLE : DECIMAL).test(raw))
    throw new TallyError('invalid_input', `environment ${name}: "${raw}" is not a ${whole ? 'whole number' : 'number'} in decimal digits`, {
      field: name,
    });
  return Number(raw);
}

const ALERT_VARIABLES = ['USAGE_ALERT_WARNING', 'USAGE_ALERT_CRITICAL', 'USAGE_ALERT_EXCEEDED'];

/** The seeds' environment variables, mapped onto config keys. */
export function fromEnvironment(env: NodeJS.ProcessEnv): ConfigInput {
  const out: ConfigInput = {};
  if (env.TALLY_DB) out.db = env.TALLY_DB;
  if (env.TALLY_CUSTOMER_ID) out.customerId = env.TALLY_CUSTOMER_ID;
  if (env.TALLY_HOST_ID) out.hostId = env.TALLY_HOST_ID;
  if (env.TALLY_TIMEZONE) out.timezone = env.TALLY_TIMEZONE;
  const port = numberFrom(env, 'TALLY_PORT', true);
  const rate = numberFrom(env, 'RATE_LIMIT_PER_MINUTE', true);
  if (port !== undefined || rate !== undefined) out.http = { port, rateLimitPerMinute: rate };
  const writer: DeepPartial<Config['writer']> = {};
  const batchSize = numberFrom(env, 'USAGE_BATCH_SIZE', true);
  if (batchSize !== undefined) writer.batchSize = batchSize;
  const timeout = numberFrom(env, 'USAGE_BATCH_TIMEOUT');
  if (timeout !== undefined) writer.batchTimeoutSeconds = timeout;
  if (env.TALLY_DURABILITY) writer.durability = env.TALLY_DURABILITY as 'normal' | 'full';
  if (Object.keys(writer).length) out.writer = writer;
  const alerts: DeepPartial<Config['alerts']> = {};
  const w = numberFrom(env, 'USAGE_ALERT_WARNING');
  if (w !== undefined) alerts.warning = w;
  const c = numberFrom(env, 'USAGE_ALERT_CRITICAL');
  if (c !== undefined) alerts.critical = c;
  const e = numberFrom(env, 'USAGE_ALERT_EXCEEDED');
  if (e !== undefined) alerts.exceeded = e;
  if (Object.keys(alerts).length) out.alerts = alerts;
  return out;
}

/** Config layers: objects merge key by key; anything else (arrays included) replaces. */
export function merge(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (!isObject(base) || !isObject(over)) return over;
  const out: Record<string, unknown> = { ...base };
  // Defined, not assigned: a "__proto__" key from JSON stays a key (refused as unknown) instead of
  // silently replacing the prototype.
  for (const [k, v] of Object.entries(over))
    Object.defineProperty(out, k, {
      value: merge(Object.hasOwn(out, k) ? out[k] : undefined, v),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return out;
}

function describeIssue(source: string, issue: z.core.$ZodIssue): string {
  const where = issue.path.length ? issue.path.join('.') : '(top level)';
  return `${source}: ${where}: ${issue.message}`;
}

export interface LoadOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** An explicit config file (--config); a missing explicit file is an error, a missing default one is not. */
  readonly file?: string;
  /** Command-line overrides, applied last. */
  readonly overrides?: ConfigInput;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** The config file as a JSON object (Settings edits it, loadConfig layers it); a missing file is an empty one. */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new TallyError('unavailable', `config file ${file}: cannot be read (${(err as Error).message})`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new TallyError('invalid_input', `config file ${file}: not valid JSON (${(err as Error).message}); fix or remove it first`, {
      field: 'config',
      cause: err,
    });
  }
  if (!isObject(parsed)) throw new TallyError('invalid_input', `config file ${file}: must hold a JSON object`, { field: 'config' });
  return parsed;
}

export function loadConfig(options: LoadOptions = {}): Readonly<Config> {
  const env = options.env ?? process.env;
  const file = options.file ?? defaultConfigFile(env);
  const exists = fs.existsSync(file);
  if (!exists && options.file !== undefined)
    throw new TallyError('invalid_input', `config file ${file} does not exist`, { field: 'config' });
  const fromFile = exists ? readConfigFile(file) : undefined;
  const layers: Array<[string, unknown]> = [
    [`config file ${file}`, fromFile],
    ['environment', fromEnvironment(env)],
    ['command line', options.overrides],
  ];
  let merged = defaults(env) as unknown as Record<string, unknown>;
  // Each layer is checked as it lands, in the sections it sets, so an error names the layer that
  // brought it. The defaults are fixed values (a test parses them) but for the database path and
  // the host name, checked at the end unless a layer set them.
  const parse = (source: string, schema: z.ZodType, value: unknown, at: PropertyKey[]): void => {
    // Parsed once or twice a process: compiling zod's fast path for it would cost more than it saves.
    const result = schema.safeParse(value, { jitless: true });
    if (result.success) return;
    const issue = result.error.issues[0]!;
    const where = { ...issue, path: [...at, ...issue.path] };
    throw new TallyError('invalid_input', describeIssue(source, where), { field: where.path.join('.') || 'config' });
  };
  const check = (source: string, keys: readonly string[]): void => {
    // A key the config does not have: the whole schema names it as before (zod's strict message).
    if (!keys.every((k) => Object.hasOwn(SECTIONS, k))) return parse(source, configSchema(), merged, []);
    for (const key of Object.keys(SECTIONS) as Array<keyof Sections>)
      if (keys.includes(key)) parse(source, SECTIONS[key](), merged[key], [key]);
  };
  const set = new Set<string>();
  // Who set the alert thresholds: their order is checked only at the end, across the layers.
  const alertSources: string[] = [];
  for (const [source, layer] of layers) {
    if (layer === undefined || (isObject(layer) && Object.keys(layer).length === 0)) continue;
    merged = merge(merged, layer) as Record<string, unknown>;
    const keys = Object.keys(layer as object);
    check(source, keys);
    for (const k of keys) set.add(k);
    if (keys.includes('alerts'))
      alertSources.push(source === 'environment' ? `environment ${ALERT_VARIABLES.filter((v) => env[v]).join(', ')}` : source);
  }
  const fromMachine = ['db', 'hostId'].filter((k) => !set.has(k));
  if (fromMachine.length > 0) check(layers[0]![0], fromMachine);
  // A copy (as zod's parse made): the layers' own objects, the caller's overrides among them, stay unfrozen.
  const config = structuredClone(merged) as unknown as Config;
  const a = config.alerts;
  if (!(a.warning < a.critical && a.critical <= a.exceeded)) {
    throw new TallyError(
      'invalid_input',
      `${alertSources.join(' and ')}: alerts: thresholds must rise: warning < critical ≤ exceeded ` +
        `(warning ${a.warning}, critical ${a.critical}, exceeded ${a.exceeded})`,
      { field: 'alerts' },
    );
  }
  return deepFreeze(config);
}
