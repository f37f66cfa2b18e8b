// Storage: bytes held by configured paths (du semantics, see walk.ts) and used bytes of
// configured volumes (statfs), billed as byte-seconds for the time since the previous sample.
//
// Time is measured on CLOCK_MONOTONIC (system-wide since boot, not moved by clock changes, not
// advancing while the machine is suspended), persisted with the boot id so a restarted agent or
// a `--once` run from cron continues from the previous sample. The rules (README "clock jumps"):
//  - first sample: a baseline, nothing billed; first after a reboot: the time since boot (the
//    part of the interval surely elapsed) billed as a lower bound, like a gap (or nothing with "skip");
//  - monotonic interval longer than maxGap (3 × the schedule's interval by default): the agent
//    was not running or not scheduled. With gapPolicy "lower-bound" (the default) the gap is
//    billed at the smaller of the readings on either side of it — never more than was surely
//    held — and the record says `estimated: true`; with "skip" it is reported and not billed;
//  - wall clock moved by a different amount than the monotonic clock (clock set, NTP step,
//    suspend/resume): reported; only the monotonic interval is billed.
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { RecordInput } from '../core/records';
import { build } from '../core/tracking';
import { bootId, defaultHostPaths, readText, type HostPaths } from './host';
import { mountPointOf, parseMounts } from './procfs';
import { systemClocks, type Clocks, type Collector, type CollectorNote } from './types';
import { measureTree, type WalkFs } from './walk';

export interface StorageSettings {
  readonly schedule: string;
  readonly paths: readonly string[];
  readonly volumes: readonly string[];
  /** Longer than this between samples is a gap (see gapPolicy). */
  readonly maxGapSeconds: number;
  /** How a gap is billed: at the smaller of the two readings, marked estimated (default), or not at all. */
  readonly gapPolicy?: GapPolicy;
  /** Filesystem calls in flight during a walk. */
  readonly concurrency: number;
}

export type GapPolicy = 'lower-bound' | 'skip';

export interface ClockMark {
  readonly bootId: string;
  readonly monoMs: number;
  readonly wallMs: number;
}

export interface Interval {
  /** Seconds to bill (0: baseline, or a skipped gap). */
  readonly seconds: number;
  /** A gap billed as a lower bound: at the smaller of the readings around it. */
  readonly estimated: boolean;
  readonly notes: readonly CollectorNote[];
}

/** A wall clock that disagrees with the monotonic one by more than this has jumped. */
const JUMP_TOLERANCE_MS = 5_000;

/** Pure: how much time to bill between two samples. */
export function storageInterval(
  previous: ClockMark | undefined,
  now: ClockMark,
  maxGapSeconds: number,
  gapPolicy: GapPolicy = 'lower-bound',
): Interval {
  if (previous === undefined) return { seconds: 0, estimated: false, notes: [] };
  if (previous.bootId !== now.bootId || now.monoMs < previous.monoMs) {
    // The wall clock cannot be trusted across a reboot; the time since boot (CLOCK_MONOTONIC
    // restarts at boot) surely passed since the last sample: the lower bound of the interval.
    if (gapPolicy === 'lower-bound' && now.monoMs > 0) {
      return {
        seconds: now.monoMs / 1000,
        estimated: true,
        notes: [
          {
            level: 'info',
            msg: 'storage: new boot: the time since boot is billed as a lower bound (the smaller reading), marked estimated',
            fields: { bootId: now.bootId, secondsSinceBoot: now.monoMs / 1000 },
          },
        ],
      };
    }
    return {
      seconds: 0,
      estimated: false,
      notes: [{ level: 'info', msg: 'storage: new boot: the time since the last sample is not billed', fields: { bootId: now.bootId } }],
    };
  }
  const mono = now.monoMs - previous.monoMs;
  const wall = now.wallMs - previous.wallMs;
  const notes: CollectorNote[] = [];
  if (mono > maxGapSeconds * 1000) {
    const lowerBound = gapPolicy === 'lower-bound';
    notes.push({
      level: 'warn',
      msg: lowerBound
        ? 'storage: gap since the last sample is far longer than the schedule: billed as a lower bound (the smaller reading), marked estimated'
        : 'storage: gap since the last sample is far longer than the schedule: not billed (gapPolicy "skip")',
      fields: {
        gapSeconds: mono / 1000,
        maxGapSeconds,
        hint: 'running `tally agent --once` from cron? set collectors.storage.schedule to that cron schedule',
      },
    });
    return lowerBound ? { seconds: mono / 1000, estimated: true, notes } : { seconds: 0, estimated: false, notes };
  }
  if (Math.abs(wall - mono) > JUMP_TOLERANCE_MS) {
    notes.push({
      level: 'warn',
      msg: 'storage: wall clock jumped or the machine was suspended: only the monotonic interval is billed',
      fields: { wallSeconds: wall / 1000, monotonicSeconds: mono / 1000 },
    });
  }
  return { seconds: mono / 1000, estimated: false, notes };
}

export function asClockMark(value: unknown): ClockMark | undefined {
  const v = value as Partial<ClockMark> | null;
  if (typeof v !== 'object' || v === null) return undefined;
  if (typeof v.bootId !== 'string' || typeof v.monoMs !== 'number' || typeof v.wallMs !== 'number') return undefined;
  return { bootId: v.bootId, monoMs: v.monoMs, wallMs: v.wallMs };
}

const SOURCE = 'collector:storage';

/** The bytes each path / volume held at the previous sample. */
function asHeld(value: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (typeof value !== 'object' || value === null) return out;
  for (const [k, v] of Object.entries(value)) if (typeof v === 'number' && Number.isFinite(v) && v >= 0) out[k] = v;
  return out;
}

/**
 * Pure: the record for one path over the interval, or none. Across a gap only the smaller of the
 * two readings was surely held the whole time; without a reading before the gap nothing was.
 */
export function billed(
  interval: Interval,
  before: number | undefined,
  bytes: number,
  metadata: Record<string, unknown>,
  wallMs: number,
): RecordInput | null {
  if (interval.seconds <= 0) return null;
  const hours = interval.seconds / 3600;
  if (!interval.estimated) return { ...build.storage(bytes, hours, { metadata, recordedAt: wallMs }), source: SOURCE };
  if (before === undefined) return null;
  const lower = Math.min(before, bytes);
  return { ...build.storage(lower, hours, { metadata: { ...metadata, estimated: true }, recordedAt: wallMs }), source: SOURCE };
}

async function mountPoints(paths: HostPaths): Promise<string[]> {
  try {
    return parseMounts(await readText(`${paths.proc}/self/mounts`));
  } catch {
    return ['/'];
  }
}

export interface StorageDeps {
  readonly paths?: HostPaths;
  readonly clocks?: Clocks;
  readonly fs?: WalkFs;
}

export function createStorageCollector(s: StorageSettings, deps: StorageDeps = {}): Collector {
  const paths = deps.paths ?? defaultHostPaths;
  const clocks = deps.clocks ?? systemClocks;
  return {
    name: 'storage',
    schedule: s.schedule,
    async collect(previous, signal) {
      const now: ClockMark = { bootId: await bootId(paths), monoMs: clocks.monoMs(), wallMs: clocks.wallMs() };
      const interval = storageInterval(asClockMark(previous.clock), now, s.maxGapSeconds, s.gapPolicy);
      const notes: CollectorNote[] = [...interval.notes];
      const records: RecordInput[] = [];
      const before = asHeld(previous.held);
      const held: Record<string, number> = {};
      let unreadable = 0;
      // Every sample is measured, a baseline too: the next gap is billed from these readings.
      const bill = (key: string, bytes: number, metadata: Record<string, unknown>): void => {
        held[key] = bytes;
        const r = billed(interval, before[key], bytes, metadata, now.wallMs);
        if (r) records.push(r);
      };
      for (const p of s.paths) {
        const abs = path.resolve(p);
        try {
          const r = await measureTree(abs, { fs: deps.fs, concurrency: s.concurrency, signal });
          unreadable += r.unreadable;
          if (r.unreadable > 0) {
            notes.push({
              level: 'warn',
              msg: 'storage: entries could not be read and are not counted',
              fields: { path: abs, unreadable: r.unreadable, examples: r.unreadableSamples },
            });
          }
          bill(`path:${abs}`, r.bytes, { path: abs });
        } catch (err) {
          if (signal?.aborted) throw err;
          unreadable++;
          notes.push({
            level: 'warn',
            msg: 'storage: configured path cannot be measured',
            fields: { path: abs, error: (err as Error).message },
          });
        }
      }
      if (s.volumes.length > 0) {
        const mounts = await mountPoints(paths);
        for (const v of s.volumes) {
          const abs = path.resolve(v);
          try {
            const st = await fsp.statfs(abs);
            bill(`volume:${abs}`, (st.blocks - st.bfree) * st.bsize, { volume: mountPointOf(abs, mounts), path: abs });
          } catch (err) {
            notes.push({
              level: 'warn',
              msg: 'storage: volume cannot be measured',
              fields: { volume: abs, error: (err as Error).message },
            });
          }
        }
      }
      return { records, state: { clock: now, held }, notes, unreadable };
    },
  };
}
