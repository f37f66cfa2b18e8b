// Pure parsers for the Linux files the collectors read: /proc/net/dev, /proc/stat,
// /proc/PID/stat, cgroup v2 cpu.stat, and the boot id. No I/O here: each takes the file's text
// and either returns validated numbers or throws a TallyError naming the file and the line.
import { TallyError } from '../core/errors';

function bad(file: string, problem: string): TallyError {
  return new TallyError('invalid_input', `${file}: ${problem}`, { field: file });
}

/** A non-negative integer counter; kernel counters are u64, so values above 2^53 lose precision but stay ordered. */
function counter(file: string, text: string, what: string): number {
  if (!/^\d+$/.test(text)) throw bad(file, `${what}: "${text.slice(0, 40)}" is not a counter`);
  return Number(text);
}

export interface InterfaceCounters {
  readonly name: string;
  readonly rxBytes: number;
  readonly txBytes: number;
  /** The kernel's interface index (/sys/class/net/IF/ifindex): a re-created interface gets a new one. */
  readonly ifindex?: number;
}

/**
 * /proc/net/dev: two header lines, then `name: rx_bytes rx_packets … (8 receive fields) tx_bytes …`.
 * The name and the first number may touch ("eth0:123") when counters are wide.
 */
export function parseNetDev(text: string, file = '/proc/net/dev'): InterfaceCounters[] {
  const lines = text.split('\n');
  if (!/\|/.test(lines[0] ?? '') || !/bytes/.test(lines[1] ?? '')) throw bad(file, 'missing the two header lines');
  const out: InterfaceCounters[] = [];
  for (let i = 2; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    if (colon < 0) throw bad(file, `line ${i + 1}: no "interface:" prefix`);
    const name = line.slice(0, colon).trim();
    if (!/^[^\s/]{1,64}$/.test(name)) throw bad(file, `line ${i + 1}: "${name.slice(0, 40)}" is not an interface name`);
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    if (fields.length < 16) throw bad(file, `line ${i + 1} (${name}): expected 16 counters, found ${fields.length}`);
    out.push({ name, rxBytes: counter(file, fields[0]!, `${name} rx bytes`), txBytes: counter(file, fields[8]!, `${name} tx bytes`) });
  }
  return out;
}

export interface CpuTimes {
  /** Jiffies (USER_HZ ticks) spent busy: user+nice+system+irq+softirq+steal. Guest time is inside user already. */
  readonly busyTicks: number;
  /** idle+iowait, for completeness (not billed). */
  readonly idleTicks: number;
  /** Boot time, seconds since the epoch (the `btime` line). */
  readonly btime: number;
  /** Number of `cpuN` lines: the plausibility bound for a delta. */
  readonly cpus: number;
}

/** /proc/stat: the aggregate `cpu` line and `btime`. */
export function parseProcStat(text: string, file = '/proc/stat'): CpuTimes {
  let busy: number | null = null;
  let idle = 0;
  let btime: number | null = null;
  let cpus = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('cpu ')) {
      const f = line.trim().split(/\s+/).slice(1);
      if (f.length < 8) throw bad(file, `cpu line: expected at least 8 fields, found ${f.length}`);
      const n = f.map((v, i) => counter(file, v, `cpu field ${i + 1}`));
      const [user, nice, system, idl, iowait, irq, softirq, steal] = n as [number, number, number, number, number, number, number, number];
      busy = user + nice + system + irq + softirq + steal;
      idle = idl + iowait;
    } else if (/^cpu\d+ /.test(line)) {
      cpus++;
    } else if (line.startsWith('btime ')) {
      btime = counter(file, line.slice(6).trim(), 'btime');
    }
  }
  if (busy === null) throw bad(file, 'no aggregate "cpu" line');
  if (btime === null) throw bad(file, 'no "btime" line');
  return { busyTicks: busy, idleTicks: idle, btime, cpus: Math.max(1, cpus) };
}

export interface ProcessTimes {
  readonly pid: number;
  readonly comm: string;
  /** utime + stime, in USER_HZ ticks. */
  readonly cpuTicks: number;
  /** Start time after boot, in ticks: with the pid it names one process (pids are reused). */
  readonly startTicks: number;
}

/**
 * /proc/PID/stat. The command name sits in parentheses and may itself contain spaces and
 * parentheses ("(my (odd) name)"), so the fields are split after the LAST ')'.
 */
export function parsePidStat(text: string, file = '/proc/PID/stat'): ProcessTimes {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw bad(file, 'no "(comm)" field');
  const pidText = text.slice(0, open).trim();
  const pid = counter(file, pidText, 'pid');
  const comm = text.slice(open + 1, close);
  // Fields after comm: 3 state, 4 ppid, … 14 utime, 15 stime, … 22 starttime (1-based, man 5 proc).
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  if (rest.length < 20) throw bad(file, `expected at least 22 fields, found ${rest.length + 2}`);
  const utime = counter(file, rest[11]!, 'utime');
  const stime = counter(file, rest[12]!, 'stime');
  const startTicks = counter(file, rest[19]!, 'starttime');
  return { pid, comm, cpuTicks: utime + stime, startTicks };
}

/** cgroup v2 cpu.stat: `usage_usec N` (and user_usec, system_usec, …). Returns CPU-microseconds. */
export function parseCgroupCpuStat(text: string, file = 'cpu.stat'): number {
  const m = /^usage_usec (\S+)$/m.exec(text);
  if (!m) throw bad(file, 'no usage_usec line (is this a cgroup v2 cpu.stat?)');
  return counter(file, m[1]!, 'usage_usec');
}

/** /proc/sys/kernel/random/boot_id: a UUID that changes on every boot. */
export function parseBootId(text: string, file = '/proc/sys/kernel/random/boot_id'): string {
  const id = text.trim();
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw bad(file, `"${id.slice(0, 40)}" is not a boot id`);
  return id.toLowerCase();
}

/** /proc/self/mounts: mount points, for naming the volume that holds a path. */
export function parseMounts(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 3) continue;
    // Spaces and other bytes in mount points are octal-escaped (\040).
    out.push(f[1]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

/** The longest mount point that contains `absPath`. */
export function mountPointOf(absPath: string, mounts: readonly string[]): string {
  let best = '/';
  for (const m of mounts) {
    if ((absPath === m || absPath.startsWith(m.endsWith('/') ? m : `${m}/`)) && m.length > best.length) best = m;
  }
  return best;
}
