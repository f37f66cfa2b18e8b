// Compute: CPU-seconds used by the host (/proc/stat), by cgroup v2 groups (cpu.stat usage_usec:
// containers, systemd services) and by configured processes (/proc/PID/stat). Counters are kept
// in CPU-microseconds; records carry CPU-seconds to the microsecond. Where /proc is absent
// (macOS, Windows) the host figure comes from os.cpus().
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { RecordInput } from '../core/records';
import { build } from '../core/tracking';
import { asCounterState, stepCounters, type CounterState } from './counters';
import { bootId, defaultHostPaths, readText, type HostPaths } from './host';
import { parseCgroupCpuStat, parsePidStat, parseProcStat } from './procfs';
import { systemClocks, type Clocks, type Collector, type CollectResult, type CollectorNote } from './types';

/** /proc reports CPU time in USER_HZ ticks, which the kernel fixes at 100 for user space. */
export const USER_HZ = 100;
const USEC_PER_TICK = 1e6 / USER_HZ;
const SOURCE = 'collector:compute';

export interface CgroupTarget {
  /** Path below the cgroup v2 root, e.g. "system.slice/nginx.service". */
  readonly path: string;
  readonly customerId?: string | undefined;
}

export interface ProcessTarget {
  /** Every process whose command name (comm, at most 15 characters) is exactly this. */
  readonly name?: string | undefined;
  readonly pid?: number | undefined;
  readonly customerId?: string | undefined;
}

export interface ComputeSettings {
  readonly schedule: string;
  readonly host: boolean;
  /** The cgroup v2 mount; default: /sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid systems. */
  readonly cgroupRoot?: string | null | undefined;
  readonly cgroups: readonly CgroupTarget[];
  readonly processes: readonly ProcessTarget[];
}

export interface ComputeReading {
  readonly bootId: string;
  readonly monoMs: number;
  readonly wallMs: number;
  readonly cpus: number;
  /** key → cumulative CPU-µs. Keys: "host", "cgroup:<path>", "process:<label>:<pid>:<start>". */
  readonly values: ReadonlyMap<string, number>;
  readonly notes: readonly CollectorNote[];
}

export function processLabel(t: ProcessTarget): string {
  return t.name ?? `pid ${t.pid}`;
}

/** Pure: previous state + a reading → records and the next state. */
/** The targets the config watches; kept with the readings (see counters.ts rule 5). */
export function watchedTargets(s: ComputeSettings): string[] {
  return [
    ...(s.host ? ['host'] : []),
    ...s.cgroups.map((c) => `cgroup:${c.path}`),
    ...s.processes.map((p) => `process:${processLabel(p)}`),
  ].sort();
}

function targetOf(key: string): string {
  if (!key.startsWith('process:')) return key;
  return key.slice(0, key.lastIndexOf(':', key.lastIndexOf(':') - 1));
}

export function computeStep(
  previous: CounterState | undefined,
  reading: ComputeReading,
  s: ComputeSettings,
  previousTargets?: readonly string[],
): CollectResult {
  const targets = watchedTargets(s);
  // A delta above every CPU busy for the whole interval (plus 5 %) is not real.
  const maxRate = reading.cpus * 1e6 * 1.05;
  const step = stepCounters(
    previous,
    { bootId: reading.bootId, monoMs: reading.monoMs, wallMs: reading.wallMs, values: reading.values },
    {
      maxRatePerSecond: () => maxRate,
      mayWrap32: false,
      // A cgroup may be re-created (a restarted container); a process never comes back.
      keepMissing: (key) => !key.startsWith('process:'),
      newlyWatched: (key) => previousTargets !== undefined && !previousTargets.includes(targetOf(key)),
    },
  );
  const perTarget = new Map<string, { usec: number; metadata: Record<string, unknown>; customerId: string | undefined }>();
  const add = (target: string, usec: number, metadata: Record<string, unknown>, customerId: string | undefined) => {
    const t = perTarget.get(target);
    if (t) t.usec += usec;
    else perTarget.set(target, { usec, metadata, customerId });
  };
  for (const [key, usec] of step.deltas) {
    if (key === 'host') add(key, usec, { instance: 'host' }, undefined);
    else if (key.startsWith('cgroup:')) {
      const p = key.slice('cgroup:'.length);
      add(key, usec, { cgroup: p }, s.cgroups.find((c) => c.path === p)?.customerId);
    } else if (key.startsWith('process:')) {
      const label = targetOf(key).slice('process:'.length);
      const target = s.processes.find((t) => processLabel(t) === label);
      add(`process:${label}`, usec, { process: label }, target?.customerId);
    }
  }
  const records: RecordInput[] = [];
  for (const t of perTarget.values()) {
    records.push({
      ...build.compute(t.usec / 1e6, { metadata: t.metadata, customerId: t.customerId, recordedAt: reading.wallMs }),
      source: SOURCE,
    });
  }
  const notes: CollectorNote[] = [...reading.notes];
  let discarded = 0;
  if (step.rebooted)
    notes.push({ level: 'info', msg: 'compute: new boot: CPU counters restarted at zero', fields: { bootId: reading.bootId } });
  for (const n of step.notes) {
    if (n.kind === 'implausible') {
      discarded++;
      notes.push({
        level: 'warn',
        msg: 'compute: delta above every CPU busy for the interval discarded',
        fields: { counter: n.key, discardedCpuSeconds: (n.discarded ?? 0) / 1e6, elapsedSeconds: step.elapsedSeconds },
      });
    } else if (n.kind === 'reset') {
      notes.push({
        level: 'info',
        msg: 'compute: counter went down: counted from zero',
        fields: { counter: n.key, previous: n.previous, value: n.value },
      });
    }
  }
  return { records, state: { counters: step.state, targets }, notes, discarded };
}

async function cgroupRootOf(s: ComputeSettings, paths: HostPaths): Promise<string> {
  if (s.cgroupRoot) return s.cgroupRoot;
  const base = `${paths.sys}/fs/cgroup`;
  // Hybrid hierarchy (cgroup v1 controllers + v2 at "unified"): the v2 tree is below unified/.
  try {
    await fs.access(`${base}/unified/cgroup.controllers`);
    return `${base}/unified`;
  } catch {
    return base;
  }
}

async function readProcesses(s: ComputeSettings, paths: HostPaths, values: Map<string, number>, notes: CollectorNote[]): Promise<void> {
  const byName = new Map<string, ProcessTarget>();
  for (const t of s.processes) {
    if (t.name !== undefined) byName.set(t.name, t);
    if (t.pid !== undefined) {
      try {
        const p = parsePidStat(await readText(`${paths.proc}/${t.pid}/stat`), `${paths.proc}/${t.pid}/stat`);
        values.set(`process:${processLabel(t)}:${p.pid}:${p.startTicks}`, p.cpuTicks * USEC_PER_TICK);
      } catch (err) {
        notes.push({
          level: 'info',
          msg: 'compute: configured process not running',
          fields: { pid: t.pid, error: (err as Error).message },
        });
      }
    }
  }
  if (byName.size === 0) return;
  const entries = await fs.readdir(paths.proc);
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let text: string;
    try {
      text = await readText(`${paths.proc}/${e}/stat`);
    } catch {
      continue; // exited between readdir and read
    }
    const p = parsePidStat(text, `${paths.proc}/${e}/stat`);
    const t = byName.get(p.comm);
    if (t) values.set(`process:${processLabel(t)}:${p.pid}:${p.startTicks}`, p.cpuTicks * USEC_PER_TICK);
  }
}

/** The I/O half: one reading of every configured counter. */
export async function readCompute(s: ComputeSettings, paths: HostPaths, clocks: Clocks): Promise<ComputeReading> {
  const values = new Map<string, number>();
  const notes: CollectorNote[] = [];
  const hasProc = process.platform === 'linux' || paths !== defaultHostPaths;
  if (!hasProc) {
    const cpus = os.cpus();
    if (s.host)
      values.set(
        'host',
        cpus.reduce((n, c) => n + (c.times.user + c.times.nice + c.times.sys + c.times.irq) * 1000, 0),
      );
    return { bootId: await bootId(paths), monoMs: clocks.monoMs(), wallMs: clocks.wallMs(), cpus: Math.max(1, cpus.length), values, notes };
  }
  const statFile = `${paths.proc}/stat`;
  const stat = parseProcStat(await readText(statFile), statFile);
  if (s.host) values.set('host', stat.busyTicks * USEC_PER_TICK);
  if (s.cgroups.length > 0) {
    const root = await cgroupRootOf(s, paths);
    for (const c of s.cgroups) {
      const file = path.join(root, c.path, 'cpu.stat');
      try {
        values.set(`cgroup:${c.path}`, parseCgroupCpuStat(await readText(file), file));
      } catch (err) {
        notes.push({
          level: 'info',
          msg: 'compute: cgroup not readable (not running?)',
          fields: { cgroup: c.path, error: (err as Error).message },
        });
      }
    }
  }
  await readProcesses(s, paths, values, notes);
  // The kernel's boot id names the boot; btime is the fallback (it moves when the wall clock is set).
  let boot: string;
  try {
    boot = await bootId(paths);
  } catch {
    boot = `btime-${stat.btime}`;
  }
  return { bootId: boot, monoMs: clocks.monoMs(), wallMs: clocks.wallMs(), cpus: stat.cpus, values, notes };
}

export function createComputeCollector(s: ComputeSettings, deps: { paths?: HostPaths; clocks?: Clocks } = {}): Collector {
  const paths = deps.paths ?? defaultHostPaths;
  const clocks = deps.clocks ?? systemClocks;
  return {
    name: 'compute',
    schedule: s.schedule,
    async collect(previous) {
      const targets = Array.isArray(previous.targets) ? previous.targets.filter((t): t is string => typeof t === 'string') : undefined;
      return computeStep(asCounterState(previous.counters), await readCompute(s, paths, clocks), s, targets);
    },
  };
}
