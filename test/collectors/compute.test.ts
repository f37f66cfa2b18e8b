// CPU-seconds from /proc/stat, cgroup v2 cpu.stat and /proc/PID/stat, on a copy of real files.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createComputeCollector, type ComputeSettings } from '../../src/collectors/compute';
import type { CollectResult } from '../../src/collectors/types';
import { tempDir } from '../helpers/db';

const fixtures = path.join(__dirname, '../fixtures/proc');

function procTree(): string {
  const root = tempDir();
  fs.cpSync(path.join(fixtures, 'root'), path.join(root, 'proc'), { recursive: true });
  fs.cpSync(path.join(fixtures, 'cgroup'), path.join(root, 'cgroup'), { recursive: true });
  return root;
}

/** Adds ticks to the aggregate cpu line: user += u, idle += idle, iowait += io. */
function addCpu(root: string, user: number, idle = 0, iowait = 0): void {
  const file = path.join(root, 'proc/stat');
  const text = fs
    .readFileSync(file, 'utf8')
    .replace(
      /^cpu +(\d+) (\d+) (\d+) (\d+) (\d+)/m,
      (_m, u: string, n: string, s: string, i: string, w: string) =>
        `cpu  ${Number(u) + user} ${n} ${s} ${Number(i) + idle} ${Number(w) + iowait}`,
    );
  fs.writeFileSync(file, text);
}

function edit(file: string, fn: (text: string) => string): void {
  fs.writeFileSync(file, fn(fs.readFileSync(file, 'utf8')));
}

const base: ComputeSettings = { schedule: '* * * * *', host: true, cgroupRoot: null, cgroups: [], processes: [] };

function summary(r: CollectResult): string[] {
  return r.records.map((x) => `${JSON.stringify(x.metadata)} ${x.quantity}${x.customerId ? ` ${x.customerId}` : ''}`);
}

describe('compute collector', () => {
  it('bills busy jiffies of the host as CPU-seconds (USER_HZ 100), not idle or iowait', async () => {
    const root = procTree();
    let mono = 10_000;
    const c = createComputeCollector(base, {
      paths: { proc: path.join(root, 'proc'), sys: root },
      clocks: { monoMs: () => mono, wallMs: () => Date.now() },
    });
    const first = await c.collect({});
    expect(first.records).toEqual([]);
    addCpu(root, 250, 9_000, 400);
    mono += 60_000;
    expect(summary(await c.collect(first.state))).toEqual(['{"instance":"host"} 2.5']);
  });

  it('bills configured cgroups (usage_usec) and processes by pid and by name, each to its customer', async () => {
    const root = procTree();
    let mono = 10_000;
    const s: ComputeSettings = {
      ...base,
      host: false,
      cgroupRoot: path.join(root, 'cgroup'),
      cgroups: [{ path: 'system.slice/demo.service', customerId: 'acme' }, { path: 'system.slice/missing.service' }],
      processes: [{ name: 'worker', customerId: 'globex' }, { pid: 4242 }],
    };
    const c = createComputeCollector(s, {
      paths: { proc: path.join(root, 'proc'), sys: root },
      clocks: { monoMs: () => mono, wallMs: () => Date.now() },
    });
    const first = await c.collect({});
    expect(first.notes.map((n) => n.msg)).toContain('compute: cgroup not readable (not running?)');
    edit(path.join(root, 'cgroup/system.slice/demo.service/cpu.stat'), (t) =>
      t.replace(/^usage_usec (\d+)$/m, (_m, n: string) => `usage_usec ${Number(n) + 1_500_000}`),
    );
    // utime is the 14th field: after "(worker) S" it is the 12th token.
    edit(path.join(root, 'proc/4242/stat'), (t) => {
      const head = t.slice(0, t.lastIndexOf(')') + 1);
      const f = t.slice(t.lastIndexOf(')') + 2).split(' ');
      f[11] = String(Number(f[11]) + 30);
      return `${head} ${f.join(' ')}`;
    });
    mono += 60_000;
    const second = await c.collect(first.state);
    expect(summary(second).sort()).toEqual([
      '{"cgroup":"system.slice/demo.service"} 1.5 acme',
      '{"process":"pid 4242"} 0.3',
      '{"process":"worker"} 0.3 globex',
    ]);
  });

  it('a new boot counts the host counter from zero; a pid reused by another process starts over', async () => {
    const root = procTree();
    let mono = 5_000_000;
    const s: ComputeSettings = { ...base, processes: [{ pid: 4242 }] };
    const c = createComputeCollector(s, {
      paths: { proc: path.join(root, 'proc'), sys: root },
      clocks: { monoMs: () => mono, wallMs: () => Date.now() },
    });
    const first = await c.collect({});
    // Reboot: new boot id, small counters, the monotonic clock restarted.
    fs.writeFileSync(path.join(root, 'proc/sys/kernel/random/boot_id'), '11111111-2222-4333-8444-555555555555\n');
    edit(path.join(root, 'proc/stat'), (t) => t.replace(/^cpu +.*$/m, 'cpu  300 0 100 50000 10 0 20 0 0 0'));
    edit(
      path.join(root, 'proc/4242/stat'),
      () => '4242 (worker) S 1 1 1 0 -1 4194304 0 0 0 0 7 3 0 0 20 0 1 0 900 0 0 18446744073709551615',
    );
    mono = 600_000;
    const second = await c.collect(first.state);
    expect(summary(second).sort()).toEqual(['{"instance":"host"} 4.2', '{"process":"pid 4242"} 0.1']);
    expect(second.notes.map((n) => n.msg)).toContain('compute: new boot: CPU counters restarted at zero');
  });

  it('never records a counter that went backwards, nor more CPU time than every CPU for the interval', async () => {
    const root = procTree();
    let mono = 10_000;
    const c = createComputeCollector(base, {
      paths: { proc: path.join(root, 'proc'), sys: root },
      clocks: { monoMs: () => mono, wallMs: () => Date.now() },
    });
    const first = await c.collect({});
    addCpu(root, 1_000_000); // 10 000 CPU-seconds in one minute on a 2-CPU fixture
    mono += 60_000;
    const second = await c.collect(first.state);
    expect(second.records).toEqual([]);
    expect(second.discarded).toBe(1);
    addCpu(root, 100);
    mono += 60_000;
    expect(summary(await c.collect(second.state))).toEqual(['{"instance":"host"} 1']);
  });

  it('a cgroup added to the config later starts as a baseline: its earlier usage is not billed', async () => {
    const root = procTree();
    let mono = 10_000;
    const paths = { proc: path.join(root, 'proc'), sys: root };
    const clocks = { monoMs: () => mono, wallMs: () => Date.now() };
    const hostOnly = createComputeCollector(base, { paths, clocks });
    const first = await hostOnly.collect({});
    mono += 60_000;
    const withGroup = createComputeCollector(
      { ...base, cgroupRoot: path.join(root, 'cgroup'), cgroups: [{ path: 'system.slice/demo.service' }] },
      { paths, clocks },
    );
    const second = await withGroup.collect(first.state);
    expect(summary(second)).toEqual([]);
    edit(path.join(root, 'cgroup/system.slice/demo.service/cpu.stat'), (t) =>
      t.replace(/^usage_usec (\d+)$/m, (_m, n: string) => `usage_usec ${Number(n) + 250_000}`),
    );
    mono += 60_000;
    expect(summary(await withGroup.collect(second.state))).toEqual(['{"cgroup":"system.slice/demo.service"} 0.25']);
  });
});
