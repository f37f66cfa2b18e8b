// Bandwidth: per-interface received / transmitted byte counters → ingress / egress records.
// Linux reads /proc/net/dev; macOS and Windows ask systeminformation (loaded only there).
// Each interface's identity (Linux: its ifindex) is kept with the readings: an interface deleted
// and re-created under the same name is a new counter starting at zero, whatever its value.
import os from 'node:os';
import type { RecordInput } from '../core/records';
import { build } from '../core/tracking';
import { asCounterState, stepCounters, type CounterState } from './counters';
import { nameFilter } from './glob';
import { bootId, defaultHostPaths, readText, type HostPaths } from './host';
import { parseNetDev, type InterfaceCounters } from './procfs';
import { systemClocks, type Clocks, type Collector, type CollectResult, type CollectorNote } from './types';

export interface BandwidthSettings {
  readonly schedule: string;
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  /** vnStat's rule: a delta implying more than this is discarded (default 10 Gbit/s). */
  readonly maxRateBytesPerSecond: number;
}

export interface BandwidthReading {
  readonly bootId: string;
  readonly monoMs: number;
  readonly wallMs: number;
  readonly interfaces: readonly InterfaceCounters[];
  /** Width of the kernel's counters: only 32-bit counters can wrap within a sample (default 64). */
  readonly counterBits?: 32 | 64;
}

/** name → identity (ifindex) at the previous reading. */
export type InterfaceIdentities = Readonly<Record<string, number>>;

const SOURCE = 'collector:bandwidth';

/** What the patterns were, kept with the readings: a changed filter starts new interfaces as baselines. */
export function filterSignature(s: Pick<BandwidthSettings, 'include' | 'exclude'>): string {
  return JSON.stringify([s.include, s.exclude]);
}

/** The interfaces whose identity changed since the previous reading (deleted and re-created). */
function replacedInterfaces(reading: BandwidthReading, before: InterfaceIdentities | undefined): string[] {
  if (!before) return [];
  return reading.interfaces
    .filter((i) => i.ifindex !== undefined && before[i.name] !== undefined && before[i.name] !== i.ifindex)
    .map((i) => i.name);
}

/** The previous counters without those of replaced interfaces: those count from zero (rule 5). */
function withoutReplaced(previous: CounterState | undefined, replaced: readonly string[]): CounterState | undefined {
  if (!previous || replaced.length === 0) return previous;
  const values = { ...previous.values };
  for (const name of replaced) {
    delete values[`${name}/rx`];
    delete values[`${name}/tx`];
  }
  return { ...previous, values };
}

function identitiesOf(reading: BandwidthReading, before: InterfaceIdentities | undefined, kept: CounterState): Record<string, number> {
  // An interface that is away keeps its identity as long as its counters are kept (keepMissing).
  const out: Record<string, number> = {};
  for (const [name, index] of Object.entries(before ?? {})) if (kept.values[`${name}/rx`] !== undefined) out[name] = index;
  for (const i of reading.interfaces) if (i.ifindex !== undefined) out[i.name] = i.ifindex;
  return out;
}

/** Pure: previous state + a reading → records and the next state. */
export function bandwidthStep(
  previous: CounterState | undefined,
  reading: BandwidthReading,
  s: BandwidthSettings,
  previousFilter?: string,
  previousIdentities?: InterfaceIdentities,
): CollectResult & { state: { counters: CounterState; filter: string; ifindex: Record<string, number> } } {
  const wanted = nameFilter(s.include, s.exclude);
  const filter = filterSignature(s);
  const filterChanged = previousFilter !== undefined && previousFilter !== filter;
  const values = new Map<string, number>();
  for (const i of reading.interfaces) {
    if (!wanted(i.name)) continue;
    values.set(`${i.name}/rx`, i.rxBytes);
    values.set(`${i.name}/tx`, i.txBytes);
  }
  const rebooted = previous !== undefined && (previous.bootId !== reading.bootId || reading.monoMs < previous.monoMs);
  // After a reboot every counter restarts anyway; identities matter within one boot.
  const replaced = rebooted ? [] : replacedInterfaces(reading, previousIdentities).filter((name) => wanted(name));
  const step = stepCounters(
    withoutReplaced(previous, replaced),
    { bootId: reading.bootId, monoMs: reading.monoMs, wallMs: reading.wallMs, values },
    {
      maxRatePerSecond: () => s.maxRateBytesPerSecond,
      // 64-bit counters (every 64-bit Linux kernel) never wrap in practice: a drop is a reset.
      mayWrap32: reading.counterBits === 32,
      // An interface that went away (unplugged, VPN down) keeps its last reading: when it comes
      // back with higher counters the difference is counted, with lower ones it counts from zero.
      keepMissing: () => true,
      newlyWatched: () => filterChanged,
    },
  );
  const records: RecordInput[] = [];
  for (const [key, bytes] of step.deltas) {
    const slash = key.lastIndexOf('/');
    const iface = key.slice(0, slash);
    const direction = key.slice(slash + 1) === 'rx' ? 'ingress' : 'egress';
    records.push({ ...build.bandwidth(bytes, direction, { metadata: { interface: iface }, recordedAt: reading.wallMs }), source: SOURCE });
  }
  const notes: CollectorNote[] = [];
  let discarded = 0;
  for (const name of replaced) {
    notes.push({
      level: 'info',
      msg: 'bandwidth: interface re-created (new ifindex): its counters start from zero',
      fields: {
        interface: name,
        previousIfindex: previousIdentities?.[name],
        ifindex: reading.interfaces.find((i) => i.name === name)?.ifindex,
      },
    });
  }
  if (step.rebooted)
    notes.push({ level: 'info', msg: 'bandwidth: new boot: counters restarted at zero', fields: { bootId: reading.bootId } });
  for (const n of step.notes) {
    if (n.kind === 'implausible') {
      discarded++;
      notes.push({
        level: 'warn',
        msg: 'bandwidth: delta above the plausible maximum rate discarded',
        fields: {
          counter: n.key,
          discardedBytes: n.discarded,
          elapsedSeconds: step.elapsedSeconds,
          maxRateBytesPerSecond: s.maxRateBytesPerSecond,
        },
      });
    } else if (n.kind !== 'reboot' && !(n.kind === 'new' && replaced.includes(n.key.slice(0, n.key.lastIndexOf('/'))))) {
      notes.push({
        level: 'info',
        msg: `bandwidth: counter ${n.kind}`,
        fields: { counter: n.key, previous: n.previous, value: n.value, bytes: n.delta },
      });
    }
  }
  const ifindex = identitiesOf(reading, rebooted ? undefined : previousIdentities, step.state);
  return { records, state: { counters: step.state, filter, ifindex }, notes, discarded };
}

/** /sys/class/net/IF/ifindex; undefined where sysfs does not say (then names alone identify). */
async function ifindexOf(paths: HostPaths, name: string): Promise<number | undefined> {
  try {
    const text = (await readText(`${paths.sys}/class/net/${name}/ifindex`)).trim();
    return /^\d{1,10}$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

/** Linux counters are as wide as the kernel's unsigned long: 64 bits on 64-bit machines. */
export function linuxCounterBits(arch: string = os.arch()): 32 | 64 {
  return ['arm64', 'x64', 'ppc64', 's390x', 'riscv64', 'loong64', 'mips64el'].includes(arch) ? 64 : 32;
}

async function readInterfaces(paths: HostPaths): Promise<InterfaceCounters[]> {
  if (process.platform === 'linux' || paths !== defaultHostPaths) {
    const file = `${paths.proc}/net/dev`;
    const parsed = parseNetDev(await readText(file), file);
    return Promise.all(parsed.map(async (i) => ({ ...i, ifindex: await ifindexOf(paths, i.name) })));
  }
  // A small branch for macOS / Windows: systeminformation reads the platform's counters.
  const si = await import('systeminformation');
  const stats = await si.networkStats('*');
  return stats
    .filter(
      (x) =>
        typeof x.iface === 'string' && Number.isFinite(x.rx_bytes) && Number.isFinite(x.tx_bytes) && x.rx_bytes >= 0 && x.tx_bytes >= 0,
    )
    .map((x) => ({ name: x.iface, rxBytes: x.rx_bytes, txBytes: x.tx_bytes }));
}

function asIdentities(value: unknown): InterfaceIdentities | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(value)) if (Number.isInteger(v)) out[k] = v as number;
  return out;
}

export function createBandwidthCollector(s: BandwidthSettings, deps: { paths?: HostPaths; clocks?: Clocks } = {}): Collector {
  const paths = deps.paths ?? defaultHostPaths;
  const clocks = deps.clocks ?? systemClocks;
  return {
    name: 'bandwidth',
    schedule: s.schedule,
    async collect(previous) {
      const [boot, interfaces] = await Promise.all([bootId(paths), readInterfaces(paths)]);
      // Other platforms' APIs may hand out 32-bit counters: a drop there may be a wrap.
      const counterBits = process.platform === 'linux' || paths !== defaultHostPaths ? linuxCounterBits() : 32;
      const reading = { bootId: boot, monoMs: clocks.monoMs(), wallMs: clocks.wallMs(), interfaces, counterBits };
      return bandwidthStep(
        asCounterState(previous.counters),
        reading,
        s,
        typeof previous.filter === 'string' ? previous.filter : undefined,
        asIdentities(previous.ifindex),
      );
    },
  };
}
