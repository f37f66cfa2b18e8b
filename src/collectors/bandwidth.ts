// Bandwidth: per-interface received / transmitted byte counters → ingress / egress records.
// Linux reads /proc/net/dev; macOS and Windows ask systeminformation (loaded only there).
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
}

const SOURCE = 'collector:bandwidth';

/** Pure: previous state + a reading → records and the next state. */
/** What the patterns were, kept with the readings: a changed filter starts new interfaces as baselines. */
export function filterSignature(s: Pick<BandwidthSettings, 'include' | 'exclude'>): string {
  return JSON.stringify([s.include, s.exclude]);
}

export function bandwidthStep(
  previous: CounterState | undefined,
  reading: BandwidthReading,
  s: BandwidthSettings,
  previousFilter?: string,
): CollectResult & { state: { counters: CounterState; filter: string } } {
  const wanted = nameFilter(s.include, s.exclude);
  const filter = filterSignature(s);
  const filterChanged = previousFilter !== undefined && previousFilter !== filter;
  const values = new Map<string, number>();
  for (const i of reading.interfaces) {
    if (!wanted(i.name)) continue;
    values.set(`${i.name}/rx`, i.rxBytes);
    values.set(`${i.name}/tx`, i.txBytes);
  }
  const step = stepCounters(
    previous,
    { bootId: reading.bootId, monoMs: reading.monoMs, wallMs: reading.wallMs, values },
    {
      maxRatePerSecond: () => s.maxRateBytesPerSecond,
      mayWrap32: true,
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
    } else if (n.kind !== 'reboot') {
      notes.push({
        level: 'info',
        msg: `bandwidth: counter ${n.kind}`,
        fields: { counter: n.key, previous: n.previous, value: n.value, bytes: n.delta },
      });
    }
  }
  return { records, state: { counters: step.state, filter }, notes, discarded };
}

async function readInterfaces(paths: HostPaths): Promise<InterfaceCounters[]> {
  if (process.platform === 'linux' || paths !== defaultHostPaths) {
    const file = `${paths.proc}/net/dev`;
    return parseNetDev(await readText(file), file);
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

export function createBandwidthCollector(s: BandwidthSettings, deps: { paths?: HostPaths; clocks?: Clocks } = {}): Collector {
  const paths = deps.paths ?? defaultHostPaths;
  const clocks = deps.clocks ?? systemClocks;
  return {
    name: 'bandwidth',
    schedule: s.schedule,
    async collect(previous) {
      const [boot, interfaces] = await Promise.all([bootId(paths), readInterfaces(paths)]);
      const reading = { bootId: boot, monoMs: clocks.monoMs(), wallMs: clocks.wallMs(), interfaces };
      return bandwidthStep(
        asCounterState(previous.counters),
        reading,
        s,
        typeof previous.filter === 'string' ? previous.filter : undefined,
      );
    },
  };
}
