// Turning cumulative kernel counters (bytes sent, CPU time used) into usage deltas. Pure.
//
// The rules, in order (they are the README's "counters" section):
//  1. The first reading ever is a baseline: nothing is recorded.
//  2. A new boot (boot id changed, or the monotonic clock went backwards) means every counter restarted at zero at boot: the delta is
//     the whole new value, the time since boot is the interval.
//  3. Same boot, counter went up: the delta is the difference.
//  4. Same boot, counter went down:
//       - previous value in the upper half of the 32-bit range (2^31 ≤ prev < 2^32; a wrapping
//         counter passes through it just before) and the wrapped difference (2^32 − prev + new)
//         is plausible: a 32-bit counter wrapped;
//       - otherwise the counter was reset (interface re-created, cgroup re-made): the delta is
//         the new value, counted from zero. (A reset of a small 64-bit counter is never read as
//         a wrap, which would invent up to 4 GiB.)
//  5. A key seen for the first time while the collector already has state appeared since the
//     last sample (a new interface, a new process): counted from zero — unless it is new only
//     because the configuration now watches it (a cgroup added to the config, a changed
//     include pattern): then it is a baseline, so usage from before it was watched is not billed.
//  6. Any delta implying more than the plausible maximum rate over the interval is discarded
//     and reported, and the reading becomes the new baseline (vnStat's rule). Nothing is ever
//     negative and nothing is invented.

export const TWO_32 = 2 ** 32;

export type DeltaKind = 'baseline' | 'delta' | 'wrap' | 'reset' | 'reboot' | 'new' | 'implausible';

export interface Delta {
  readonly kind: DeltaKind;
  /** What to record (0 for baseline and implausible). */
  readonly delta: number;
  /** For implausible deltas: what was discarded. */
  readonly discarded?: number;
}

export interface DeltaContext {
  /** Whether the collector had any state before this sample (rule 5 vs rule 1). */
  readonly hadState: boolean;
  readonly rebooted: boolean;
  /** Interval the delta covers (monotonic clock; time since boot after a reboot). */
  readonly elapsedSeconds: number;
  /** Plausible maximum per second (bytes/s, CPU-µs/s). */
  readonly maxRatePerSecond: number;
  /** Whether this counter may be 32 bits wide (network counters on old drivers / 32-bit kernels). */
  readonly mayWrap32: boolean;
}

function plausible(delta: number, c: DeltaContext): boolean {
  // At least one second of allowance: schedules fire on whole seconds and readings take time.
  return delta <= c.maxRatePerSecond * Math.max(c.elapsedSeconds, 1);
}

export function counterDelta(prev: number | undefined, next: number, c: DeltaContext): Delta {
  let kind: DeltaKind;
  let delta: number;
  if (prev === undefined) {
    if (!c.hadState) return { kind: 'baseline', delta: 0 };
    kind = 'new';
    delta = next;
  } else if (c.rebooted) {
    kind = 'reboot';
    delta = next;
  } else if (next >= prev) {
    kind = 'delta';
    delta = next - prev;
  } else if (c.mayWrap32 && prev < TWO_32 && prev >= TWO_32 / 2 && plausible(TWO_32 - prev + next, c)) {
    kind = 'wrap';
    delta = TWO_32 - prev + next;
  } else {
    kind = 'reset';
    delta = next;
  }
  if (!plausible(delta, c)) return { kind: 'implausible', delta: 0, discarded: delta };
  return { kind, delta };
}

/** The persisted readings of one collector: boot, monotonic time, and each counter's last value. */
export interface CounterState {
  readonly bootId: string;
  /** Monotonic clock (CLOCK_MONOTONIC: system-wide, since boot) at the reading, ms. */
  readonly monoMs: number;
  /** Wall clock at the reading, ms; only used to forget counters not seen for long. */
  readonly wallMs: number;
  readonly values: Readonly<Record<string, { readonly value: number; readonly seenAt: number }>>;
}

export interface CounterReading {
  readonly bootId: string;
  readonly monoMs: number;
  readonly wallMs: number;
  readonly values: ReadonlyMap<string, number>;
}

export interface CounterNote {
  readonly key: string;
  readonly kind: DeltaKind;
  readonly delta: number;
  readonly discarded?: number;
  readonly previous?: number;
  readonly value: number;
}

export interface CounterStep {
  readonly deltas: ReadonlyMap<string, number>;
  readonly state: CounterState;
  /** Everything that was not a plain delta (wraps, resets, discarded deltas), for the log. */
  readonly notes: readonly CounterNote[];
  readonly rebooted: boolean;
  readonly elapsedSeconds: number;
}

export interface StepOptions {
  readonly maxRatePerSecond: (key: string) => number;
  readonly mayWrap32: boolean;
  /** Keep a counter that was not seen in this reading (an interface that went away may come back). */
  readonly keepMissing: (key: string) => boolean;
  /** Forget a missing counter after this long (wall clock). */
  readonly forgetAfterMs?: number;
  /** A key the configuration did not watch at the previous sample (rule 5's exception). */
  readonly newlyWatched?: (key: string) => boolean;
}

export function stepCounters(prev: CounterState | undefined, now: CounterReading, o: StepOptions): CounterStep {
  // CLOCK_MONOTONIC going backwards also means a reboot (where no boot id exists).
  const rebooted = prev !== undefined && (prev.bootId !== now.bootId || now.monoMs < prev.monoMs);
  // CLOCK_MONOTONIC restarts at boot: after a reboot the interval is the time since boot.
  const elapsedSeconds = prev === undefined ? 0 : rebooted ? now.monoMs / 1000 : Math.max(0, (now.monoMs - prev.monoMs) / 1000);
  const deltas = new Map<string, number>();
  const notes: CounterNote[] = [];
  const values: Record<string, { value: number; seenAt: number }> = {};
  for (const [key, value] of now.values) {
    const before = prev?.values[key]?.value;
    const d = counterDelta(before, value, {
      hadState: prev !== undefined && !(before === undefined && o.newlyWatched?.(key) === true),
      rebooted,
      elapsedSeconds,
      maxRatePerSecond: o.maxRatePerSecond(key),
      mayWrap32: o.mayWrap32,
    });
    if (d.delta > 0) deltas.set(key, d.delta);
    if (d.kind !== 'delta' && d.kind !== 'baseline') {
      notes.push({
        key,
        kind: d.kind,
        delta: d.delta,
        value,
        ...(before === undefined ? {} : { previous: before }),
        ...(d.discarded === undefined ? {} : { discarded: d.discarded }),
      });
    }
    values[key] = { value, seenAt: now.wallMs };
  }
  if (prev && !rebooted) {
    const forget = o.forgetAfterMs ?? 30 * 86_400_000;
    for (const [key, v] of Object.entries(prev.values)) {
      if (key in values || !o.keepMissing(key)) continue;
      if (now.wallMs - v.seenAt > forget) continue;
      values[key] = v;
    }
  }
  return { deltas, state: { bootId: now.bootId, monoMs: now.monoMs, wallMs: now.wallMs, values }, notes, rebooted, elapsedSeconds };
}

/** Checks a value read back from collector_state; anything malformed is treated as no state. */
export function asCounterState(value: unknown): CounterState | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.bootId !== 'string' || typeof v.monoMs !== 'number' || typeof v.wallMs !== 'number') return undefined;
  if (typeof v.values !== 'object' || v.values === null) return undefined;
  const values: Record<string, { value: number; seenAt: number }> = {};
  for (const [k, e] of Object.entries(v.values as Record<string, unknown>)) {
    const entry = e as { value?: unknown; seenAt?: unknown } | null;
    if (entry && typeof entry.value === 'number' && entry.value >= 0 && typeof entry.seenAt === 'number')
      values[k] = { value: entry.value, seenAt: entry.seenAt };
  }
  return { bootId: v.bootId, monoMs: v.monoMs, wallMs: v.wallMs, values };
}
