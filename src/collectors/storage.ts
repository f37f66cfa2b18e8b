// Storage: bytes held by configured paths (du semantics, see walk.ts) and used bytes of
// configured volumes (statfs), billed as byte-seconds for the time since the previous sample.
//
// Time is measured on CLOCK_MONOTONIC (system-wide since boot, not moved by clock changes, not
// advancing while the machine is suspended), persisted with the boot id so a restarted agent or
// a `--once` run from cron continues from the previous sample. The rules (README "clock jumps"):
//  - first sample, or first after a reboot: a baseline, nothing billed;
//  - monotonic interval longer than maxGap (3 × the schedule's interval by default): the agent
//    was not running or not scheduled; the gap is reported and not billed;
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
  /** Longer than this between samples is a gap, not billed. */
  readonly maxGapSeconds: number;
  /** Filesystem calls in flight during a walk. */
  readonly concurrency: number;
}

export interface ClockMark {
  readonly bootId: string;
  readonly monoMs: number;
  readonly wallMs: number;
}

export interface Interval {
  /** Seconds to bill (0: baseline or gap). */
  readonly seconds: number;
  readonly notes: readonly CollectorNote[];
}

/** A wall clock that disagrees with the monotonic one by more than this has jumped. */
const JUMP_TOLERANCE_MS = 5_000;

/** Pure: how much time to bill between two samples. */
export function storageInterval(previous: ClockMark | undefined, now: ClockMark, maxGapSeconds: number): Interval {
  if (previous === undefined) return { seconds: 0, notes: [] };
  if (previous.bootId !== now.bootId || now.monoMs < previous.monoMs) {
    return {
      seconds: 0,
      notes: [{ level: 'info', msg: 'storage: new boot: the time since the last sample is not billed', fields: { bootId: now.bootId } }],
    };
  }
  const mono = now.monoMs - previous.monoMs;
  const wall = now.wallMs - previous.wallMs;
  const notes: CollectorNote[] = [];
  if (mono > maxGapSeconds * 1000) {
    notes.push({
      level: 'warn',
      msg: 'storage: gap since the last sample is far longer than the schedule: not billed',
      fields: {
        gapSeconds: mono / 1000,
        maxGapSeconds,
        hint: 'running `tally agent --once` from cron? set collectors.storage.schedule to that cron schedule',
      },
    });
    return { seconds: 0, notes };
  }
  if (Math.abs(wall - mono) > JUMP_TOLERANCE_MS) {
    notes.push({
      level: 'warn',
      msg: 'storage: wall clock jumped or the machine was suspended: only the monotonic interval is billed',
      fields: { wallSeconds: wall / 1000, monotonicSeconds: mono / 1000 },
    });
  }
  return { seconds: mono / 1000, notes };
}

export function asClockMark(value: unknown): ClockMark | undefined {
  const v = value as Partial<ClockMark> | null;
  if (typeof v !== 'object' || v === null) return undefined;
  if (typeof v.bootId !== 'string' || typeof v.monoMs !== 'number' || typeof v.wallMs !== 'number') return undefined;
  return { bootId: v.bootId, monoMs: v.monoMs, wallMs: v.wallMs };
}

const SOURCE = 'collector:storage';

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
      const interval = storageInterval(asClockMark(previous.clock), now, s.maxGapSeconds);
      const notes: CollectorNote[] = [...interval.notes];
      const records: RecordInput[] = [];
      let unreadable = 0;
      const hours = interval.seconds / 3600;
      // A baseline needs no measurement: nothing is billed for it.
      if (interval.seconds > 0) {
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
            records.push({ ...build.storage(r.bytes, hours, { metadata: { path: abs }, recordedAt: now.wallMs }), source: SOURCE });
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
              const used = (st.blocks - st.bfree) * st.bsize;
              records.push({
                ...build.storage(used, hours, { metadata: { volume: mountPointOf(abs, mounts), path: abs }, recordedAt: now.wallMs }),
                source: SOURCE,
              });
            } catch (err) {
              notes.push({
                level: 'warn',
                msg: 'storage: volume cannot be measured',
                fields: { volume: abs, error: (err as Error).message },
              });
            }
          }
        }
      }
      return { records, state: { clock: now }, notes, unreadable };
    },
  };
}
