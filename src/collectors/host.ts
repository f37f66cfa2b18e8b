// The small I/O shared by the collectors: the boot id, the procfs root, and file reads that
// fail with a message naming the file.
import fs from 'node:fs/promises';
import { parseBootId } from './procfs';

export interface HostPaths {
  /** Root of procfs, "/proc" (tests point it at test/fixtures/proc/…). */
  readonly proc: string;
  /** Root of sysfs, "/sys". */
  readonly sys: string;
}

export const defaultHostPaths: HostPaths = { proc: '/proc', sys: '/sys' };

export async function readText(file: string): Promise<string> {
  return fs.readFile(file, 'utf8');
}

export async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * A boot identifier. Linux: the kernel's boot id. Elsewhere there is no stable one that survives
 * wall-clock changes, so "unknown": a reboot is then detected by the monotonic clock going
 * backwards (it restarts at boot) or by counters going down (counters.ts).
 */
export async function bootId(paths: HostPaths = defaultHostPaths): Promise<string> {
  if (process.platform !== 'linux' && paths.proc === '/proc') return 'unknown';
  return parseBootId(await readText(`${paths.proc}/sys/kernel/random/boot_id`));
}
