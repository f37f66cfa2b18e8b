// Sync targets: resolving and validating a target (HTTPS unless the host is loopback; names; batch sizes within the
// vendor's limit), the adapter for each kind, the public view that never carries the token,
// and the warnings about vendor windows that `tally sync status` shows.
import { invalid } from '../errors';
import { lagoAdapter } from './lago';
import { nativeAdapter } from './native';
import { openMeterAdapter } from './openmeter';
import { STRIPE_DEDUP_MS, STRIPE_TIMESTAMP_WINDOW_MS, stripeAdapter } from './stripe';
import { stripeV1Adapter } from './stripe-v1';
import { checkEndpointUrl, targetInputSchema } from './target-input';
import type { Adapter, TargetKind, TargetOptions, TargetSpec } from './types';

export { checkEndpointUrl, isLoopbackHost, TARGET_NAME, targetInputSchema, targetOptionsSchema, type TargetInput } from './target-input';

const DEFAULT_BATCH: Record<TargetKind, number> = { openmeter: 500, lago: 100, stripe: 100, tally: 5000 };

export function adapterFor(spec: TargetSpec, now: () => number): Adapter {
  switch (spec.kind) {
    case 'openmeter':
      return openMeterAdapter(spec, now);
    case 'lago':
      return lagoAdapter(spec, now);
    case 'stripe':
      return spec.options.api === 'v2' ? stripeAdapter(spec, now) : stripeV1Adapter(spec, now);
    case 'tally':
      return nativeAdapter(spec, now);
  }
}

export interface ResolvedTarget extends TargetSpec {
  readonly enabled: boolean;
  readonly origin: 'config' | 'settings';
}

/** Validates a target; errors name the field under `prefix` ("sync.targets[0].url"). */
export function resolveTarget(input: unknown, origin: ResolvedTarget['origin'], prefix = 'target'): ResolvedTarget {
  const parsed = targetInputSchema().safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalid([prefix, ...issue.path.map(String)].join('.'), issue.message);
  }
  const t = parsed.data;
  const url = checkEndpointUrl(`${prefix}.url`, t.url);
  if (t.options?.streamUrl !== undefined) checkEndpointUrl(`${prefix}.options.streamUrl`, t.options.streamUrl);
  const max = t.kind === 'lago' || t.kind === 'stripe' ? 100 : t.kind === 'openmeter' ? 1000 : 20_000;
  const batchSize = t.batchSize ?? DEFAULT_BATCH[t.kind];
  if (batchSize > max) throw invalid(`${prefix}.batchSize`, `${t.kind} takes at most ${max} events a request`);
  if ((t.kind === 'stripe' || t.kind === 'lago') && !t.token) throw invalid(`${prefix}.token`, `is required for ${t.kind}`);
  const options: TargetOptions = t.options ?? {};
  return { name: t.name, kind: t.kind, url, token: t.token ?? null, batchSize, options, enabled: t.enabled ?? true, origin };
}

/** A target as the API and CLI show it: the token only as "set" or not. */
export interface TargetView {
  readonly name: string;
  readonly kind: TargetKind;
  readonly url: string;
  readonly batchSize: number;
  readonly enabled: boolean;
  readonly origin: 'config' | 'settings';
  readonly tokenSet: boolean;
  readonly options: TargetOptions;
}

export function targetView(t: ResolvedTarget): TargetView {
  return {
    name: t.name,
    kind: t.kind,
    url: t.url,
    batchSize: t.batchSize,
    enabled: t.enabled,
    origin: t.origin,
    tokenSet: t.token !== null,
    options: t.options,
  };
}

/** Warnings about records that are about to fall out of what the vendor accepts or deduplicates. */
export function windowWarnings(kind: TargetKind, oldestUnsentAt: number | null, unknownSince: number | null, now: number): string[] {
  const out: string[] = [];
  if (kind !== 'stripe') return out;
  if (oldestUnsentAt !== null) {
    const age = now - oldestUnsentAt;
    const left = STRIPE_TIMESTAMP_WINDOW_MS - age;
    if (left <= 0) out.push(`the oldest unsent record is ${days(age)} old: past Stripe's 35-day window, Stripe will refuse it`);
    else if (left <= 7 * 86_400_000)
      out.push(`the oldest unsent record is ${days(age)} old: it falls out of Stripe's 35-day window in ${days(left)}`);
  }
  if (unknownSince !== null) {
    const left = STRIPE_DEDUP_MS - (now - unknownSince);
    if (left <= 0)
      out.push(`a batch with an unknown outcome is older than Stripe's ~24 h dedup window: it will be marked for review, not re-sent`);
    else
      out.push(
        `a batch with an unknown outcome must be re-sent within ${Math.ceil(left / 3_600_000)} h (Stripe deduplicates identifiers for ~24 h)`,
      );
  }
  return out;
}

function days(ms: number): string {
  const d = ms / 86_400_000;
  return d >= 1 ? `${d.toFixed(1)} days` : `${(ms / 3_600_000).toFixed(1)} hours`;
}
