// Bandwidth deltas from /proc/net/dev readings: reboots, 32-bit wraps, resets, interfaces that
// go away and come back, implausible jumps, and a wall clock that jumps.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bandwidthStep, createBandwidthCollector, type BandwidthReading, type BandwidthSettings } from '../../src/collectors/bandwidth';
import { asCounterState, type CounterState } from '../../src/collectors/counters';
import { parseNetDev, type InterfaceCounters } from '../../src/collectors/procfs';
import { defaultCollectorsConfig } from '../../src/collectors/config';
import { tempDir } from '../helpers/db';

const fixtures = path.join(__dirname, '../fixtures/proc');
const fixture = (name: string) => fs.readFileSync(path.join(fixtures, name), 'utf8');
const settings: BandwidthSettings = defaultCollectorsConfig().bandwidth;
const BOOT_A = '9d2885b9-ff04-4fc3-b2a1-d891a131affd';
const BOOT_B = '11111111-2222-4333-8444-555555555555';

const real = parseNetDev(fixture('net-dev.txt'));
const eth0 = real.find((i) => i.name === 'eth0')!;

function bump(ifs: readonly InterfaceCounters[], name: string, rx: number, tx: number): InterfaceCounters[] {
  return ifs.map((i) => (i.name === name ? { ...i, rxBytes: i.rxBytes + rx, txBytes: i.txBytes + tx } : i));
}

function reading(interfaces: readonly InterfaceCounters[], monoMs: number, o: Partial<BandwidthReading> = {}): BandwidthReading {
  return { bootId: BOOT_A, monoMs, wallMs: Date.UTC(2026, 10, 20, 12) + monoMs, interfaces, ...o };
}

/** Runs readings in order; returns the records of each step as "iface direction bytes". */
function run(steps: BandwidthReading[], s = settings): { records: string[][]; notes: string[]; state: CounterState | undefined } {
  let state: CounterState | undefined;
  let ifindex: Record<string, number> | undefined;
  const records: string[][] = [];
  const notes: string[] = [];
  for (const r of steps) {
    const out = bandwidthStep(state, r, s, undefined, ifindex);
    state = out.state.counters;
    ifindex = out.state.ifindex;
    records.push(out.records.map((x) => `${x.metadata!.interface} ${x.metadata!.direction} ${x.quantity}`));
    notes.push(...out.notes.map((n) => n.msg));
  }
  return { records, notes, state };
}

describe('bandwidth deltas', () => {
  it('records nothing on the first reading, then ingress and egress per interface; lo and silent interfaces excluded', () => {
    const { records } = run([reading(real, 1_000), reading(bump(bump(real, 'eth0', 5_000, 700), 'lo', 9, 9), 61_000)]);
    expect(records).toEqual([[], ['eth0 ingress 5000', 'eth0 egress 700']]);
  });

  it('stores the metadata the bandwidth service requires and the collector source', () => {
    const out = bandwidthStep(
      asCounterState(bandwidthStep(undefined, reading(real, 0), settings).state.counters),
      reading(bump(real, 'eth0', 1, 2), 60_000),
      settings,
    );
    expect(out.records[0]).toMatchObject({
      service: 'bandwidth',
      quantity: 1,
      source: 'collector:bandwidth',
      metadata: { interface: 'eth0', direction: 'ingress', bytes: 1 },
    });
  });

  it('after a reboot (new boot id, counters lower) counts the new counters from zero', () => {
    const afterBoot = real.map((i) => (i.name === 'eth0' ? { ...i, rxBytes: 4_000, txBytes: 300 } : { ...i, rxBytes: 0, txBytes: 0 }));
    const { records, notes } = run([reading(real, 5_000_000), reading(afterBoot, 90_000, { bootId: BOOT_B })]);
    expect(records[1]).toEqual(['eth0 ingress 4000', 'eth0 egress 300']);
    expect(notes.join('\n')).toMatch(/new boot/);
  });

  it('a counter that went down on the same boot (interface re-created) counts from zero, never negative', () => {
    const down = bump(real, 'eth0', -eth0.rxBytes + 1_234, 0);
    const { records } = run([reading(real, 1_000), reading(down, 61_000)]);
    expect(records[1]).toEqual(['eth0 ingress 1234']);
  });

  it('a 32-bit counter that wrapped adds the wrapped difference', () => {
    const before = parseNetDev(fixture('net-dev-32bit-before.txt'));
    const after = parseNetDev(fixture('net-dev-32bit-after.txt'));
    const { records, notes } = run([reading(before, 1_000, { counterBits: 32 }), reading(after, 61_000, { counterBits: 32 })]);
    // 2^32 − 4294967000 + 704 = 1000
    expect(records[1]).toEqual(['eth1 ingress 1000', 'eth1 egress 1000']);
    expect(notes.join('\n')).toMatch(/counter wrap/);
  });

  it('a small 64-bit counter that went down is a reset, not a wrap inventing 4 GiB', () => {
    const small = [{ name: 'eth1', rxBytes: 5_000, txBytes: 5_000 }];
    const { records } = run([reading(small, 1_000), reading([{ name: 'eth1', rxBytes: 100, txBytes: 5_000 }], 61_000)]);
    expect(records[1]).toEqual(['eth1 ingress 100']);
  });

  it('a 64-bit counter that drops from above 2^31 is a reset, never a wrap (measured: 1 932 601 732 invented bytes)', () => {
    const big = [{ name: 'ens5', rxBytes: 2_365_772_696, txBytes: 10_000 }];
    const { records, notes } = run([reading(big, 1_000), reading([{ name: 'ens5', rxBytes: 1_204, txBytes: 10_000 }], 61_000)]);
    expect(records[1]).toEqual(['ens5 ingress 1204']);
    expect(notes.join('\n')).not.toMatch(/wrap/);
  });

  it('an interface re-created with a new ifindex counts from zero even when its counters climbed above the old ones', () => {
    const before = [{ name: 'ens5', rxBytes: 1_000_000, txBytes: 500, ifindex: 7 }];
    const after = [{ name: 'ens5', rxBytes: 2_002_544, txBytes: 400, ifindex: 9 }];
    const { records, notes } = run([reading(before, 1_000), reading(after, 61_000)]);
    expect(records[1]).toEqual(['ens5 ingress 2002544', 'ens5 egress 400']);
    expect(notes.join('\n')).toMatch(/re-created \(new ifindex\)/);
  });

  it('the same ifindex after a pause counts the difference; an interface away and re-created later counts from zero', () => {
    const a = [{ name: 'wg0', rxBytes: 5_000, txBytes: 50, ifindex: 4 }];
    const { records } = run([
      reading(a, 1_000),
      reading([], 61_000),
      reading([{ ...a[0]!, rxBytes: 6_000 }], 121_000),
      reading([], 181_000),
      reading([{ name: 'wg0', rxBytes: 9_000, txBytes: 90, ifindex: 11 }], 241_000),
    ]);
    expect(records).toEqual([[], [], ['wg0 ingress 1000'], [], ['wg0 ingress 9000', 'wg0 egress 90']]);
  });

  it('an interface that disappears and reappears: higher counters count the difference, lower ones from zero', () => {
    const gone = real.filter((i) => i.name !== 'eth0');
    const { records } = run([
      reading(real, 1_000),
      reading(gone, 61_000),
      reading(bump(real, 'eth0', 800, 80), 121_000), // back with the same counters plus traffic
      reading(gone, 181_000),
      reading(bump(real, 'eth0', -eth0.rxBytes + 50, -eth0.txBytes + 5), 241_000), // re-created
    ]);
    expect(records).toEqual([[], [], ['eth0 ingress 800', 'eth0 egress 80'], [], ['eth0 ingress 50', 'eth0 egress 5']]);
  });

  it('discards a delta above the plausible maximum rate (vnStat) and keeps the reading as the new baseline', () => {
    const s = { ...settings, maxRateBytesPerSecond: 1_000 };
    const { records, notes } = run(
      [reading(real, 1_000), reading(bump(real, 'eth0', 120_000, 10), 61_000), reading(bump(real, 'eth0', 120_500, 20), 121_000)],
      s,
    );
    expect(records).toEqual([[], ['eth0 egress 10'], ['eth0 ingress 500', 'eth0 egress 10']]);
    expect(notes.join('\n')).toMatch(/plausible maximum rate discarded/);
  });

  it('a wall clock that jumps forward an hour changes nothing: intervals are monotonic', () => {
    const jump = reading(bump(real, 'eth0', 3_000, 0), 61_000, { wallMs: Date.UTC(2026, 10, 20, 13, 1) });
    const { records } = run([reading(real, 1_000), jump], { ...settings, maxRateBytesPerSecond: 100 });
    expect(records[1]).toEqual(['eth0 ingress 3000']);
  });

  it('an interface created since the last sample counts from zero; one newly matched by changed patterns is a baseline', () => {
    const narrow = { ...settings, include: ['eth*', 'tun*'] };
    const first = bandwidthStep(undefined, reading(real, 1_000), narrow);
    const withTun = [...real, { name: 'tun0', rxBytes: 700, txBytes: 70 }];
    const created = bandwidthStep(first.state.counters, reading(withTun, 61_000), narrow, first.state.filter);
    expect(created.records.map((r) => `${r.metadata!.interface} ${r.quantity}`)).toEqual(['tun0 700', 'tun0 70']);

    // The config now also counts ifb*: their counters so far are not this minute's traffic.
    const wider = { ...settings, include: ['eth*', 'tun*', 'ifb*'] };
    const withIfb = withTun.map((i) => (i.name === 'ifb0' ? { ...i, rxBytes: 5_000_000 } : i));
    const changed = bandwidthStep(created.state.counters, reading(bump(withIfb, 'eth0', 10, 0), 121_000), wider, created.state.filter);
    expect(changed.records.map((r) => `${r.metadata!.interface} ${r.quantity}`)).toEqual(['eth0 10']);
    const next = bandwidthStep(
      changed.state.counters,
      reading(bump(bump(withIfb, 'eth0', 10, 0), 'ifb0', 3, 0), 181_000),
      wider,
      changed.state.filter,
    );
    expect(next.records.map((r) => `${r.metadata!.interface} ${r.quantity}`)).toEqual(['ifb0 3']);
  });

  it('include and exclude patterns pick the interfaces', () => {
    const s = { ...settings, include: ['ifb*', 'eth?'], exclude: ['ifb1'] };
    const ifs = [...real, { name: 'docker0', rxBytes: 0, txBytes: 0 }];
    const { state } = run([reading(ifs, 1_000)], s);
    expect(Object.keys(state!.values).sort()).toEqual(['eth0/rx', 'eth0/tx', 'ifb0/rx', 'ifb0/tx']);
  });
});

describe('bandwidth collector on a proc tree', () => {
  it('reads net/dev and the boot id below the configured proc root', async () => {
    const root = tempDir();
    fs.cpSync(path.join(fixtures, 'root'), root, { recursive: true });
    let mono = 1_000;
    const c = createBandwidthCollector(settings, {
      paths: { proc: root, sys: root },
      clocks: { monoMs: () => mono, wallMs: () => Date.now() },
    });
    const first = await c.collect({});
    expect(first.records).toEqual([]);
    const dev = fs
      .readFileSync(path.join(root, 'net/dev'), 'utf8')
      .replace(/eth0:\s+(\d+)/, (_m, n: string) => `eth0: ${Number(n) + 4096}`);
    fs.writeFileSync(path.join(root, 'net/dev'), dev);
    mono += 60_000;
    const second = await c.collect(first.state);
    expect(second.records.map((r) => [r.metadata!.direction, r.quantity])).toEqual([['ingress', 4096]]);
  });

  it('a malformed net/dev is an error naming the file', async () => {
    const root = tempDir();
    fs.cpSync(path.join(fixtures, 'root'), root, { recursive: true });
    fs.writeFileSync(path.join(root, 'net/dev'), fixture('net-dev-truncated.txt'));
    const c = createBandwidthCollector(settings, { paths: { proc: root, sys: root } });
    await expect(c.collect({})).rejects.toThrow(/net\/dev: line 3 \(eth0\)/);
  });
});
