// The parsers on real files copied from a Linux machine (test/fixtures/proc) and hand-edited variants.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  mountPointOf,
  parseBootId,
  parseCgroupCpuStat,
  parseMounts,
  parseNetDev,
  parsePidStat,
  parseProcStat,
} from '../../src/collectors/procfs';

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, '../fixtures/proc', name), 'utf8');

describe('/proc/net/dev', () => {
  it('reads rx and tx bytes of every interface of a real file', () => {
    const ifs = parseNetDev(fixture('net-dev.txt'));
    expect(ifs.map((i) => i.name)).toEqual(['lo', 'ifb0', 'ifb1', 'eth0']);
    const eth0 = ifs.find((i) => i.name === 'eth0')!;
    // The same numbers as the file's first and ninth counters of that line.
    const line = fixture('net-dev.txt')
      .split('\n')
      .find((l) => l.trim().startsWith('eth0:'))!;
    const f = line.split(':')[1]!.trim().split(/\s+/);
    expect(eth0).toEqual({ name: 'eth0', rxBytes: Number(f[0]), txBytes: Number(f[8]) });
  });

  it('reads a counter that touches the interface name and counters wider than 32 bits', () => {
    const eth0 = parseNetDev(fixture('net-dev-wide.txt')).find((i) => i.name === 'eth0')!;
    expect(eth0.rxBytes).toBe(4294967000);
    expect(eth0.txBytes).toBe(18446744073709551);
  });

  it('refuses a truncated line, naming the file and the interface', () => {
    expect(() => parseNetDev(fixture('net-dev-truncated.txt'))).toThrow(/\/proc\/net\/dev: line 3 \(eth0\): expected 16 counters, found 4/);
    expect(() => parseNetDev('garbage')).toThrow(/missing the two header lines/);
  });
});

describe('/proc/stat', () => {
  it('sums the busy jiffies (not idle, not iowait) and reads btime and the CPU count', () => {
    const text = fixture('stat.txt');
    const s = parseProcStat(text);
    const cpu = text.split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    expect(s.busyTicks).toBe(cpu[0]! + cpu[1]! + cpu[2]! + cpu[5]! + cpu[6]! + cpu[7]!);
    expect(s.idleTicks).toBe(cpu[3]! + cpu[4]!);
    expect(s.btime).toBe(Number(/^btime (\d+)$/m.exec(text)![1]));
    expect(s.cpus).toBe(text.split('\n').filter((l) => /^cpu\d+ /.test(l)).length);
  });

  it('refuses a file without btime or with a non-numeric field', () => {
    expect(() => parseProcStat('cpu  1 2 3 4 5 6 7 8\n')).toThrow(/no "btime" line/);
    expect(() => parseProcStat('cpu  1 2 x 4 5 6 7 8\nbtime 5\n')).toThrow(/cpu field 3: "x" is not a counter/);
  });
});

describe('/proc/PID/stat', () => {
  it('reads utime+stime and the start time of a real process', () => {
    const text = fixture('pid-stat.txt');
    const p = parsePidStat(text);
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    expect(p.comm).toBe('node');
    expect(p.cpuTicks).toBe(Number(f[11]) + Number(f[12]));
    expect(p.startTicks).toBe(Number(f[19]));
  });

  it('keeps a command name with spaces and parentheses whole', () => {
    const odd = parsePidStat(fixture('pid-stat-odd-comm.txt'));
    const plain = parsePidStat(fixture('pid-stat.txt'));
    expect(odd.comm).toBe('my (odd) name');
    expect(odd.cpuTicks).toBe(plain.cpuTicks);
    expect(odd.startTicks).toBe(plain.startTicks);
  });
});

describe('cgroup v2, boot id, mounts', () => {
  it('reads usage_usec from a real cpu.stat', () => {
    const text = fixture('cgroup-cpu.stat');
    expect(parseCgroupCpuStat(text)).toBe(Number(/^usage_usec (\d+)$/m.exec(text)![1]));
    expect(() => parseCgroupCpuStat('user 5\n', 'x/cpu.stat')).toThrow(/x\/cpu.stat: no usage_usec line/);
  });

  it('accepts the real boot id and refuses anything else', () => {
    expect(parseBootId(fixture('boot_id.txt'))).toMatch(/^[0-9a-f-]{36}$/);
    expect(() => parseBootId('not-a-uuid')).toThrow(/is not a boot id/);
  });

  it('names the volume of a path by the longest mount point', () => {
    const mounts = parseMounts(fixture('mounts.txt'));
    expect(mounts).toContain('/');
    expect(mountPointOf('/proc/net/dev', mounts)).toBe('/proc');
    expect(mountPointOf('/a b/c', ['/', '/a b'])).toBe('/a b');
    expect(parseMounts('/dev/sdb1 /mnt/my\\040disk ext4 rw 0 0\n')).toEqual(['/mnt/my disk']);
    expect(mountPointOf('/procfoo', mounts)).toBe('/');
  });
});
