// The collectors section of the config: defaults, and bad values named by their path.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config';
import { tempDir } from '../helpers/db';

function load(collectors: unknown) {
  const file = path.join(tempDir(), 'config.json');
  fs.writeFileSync(file, JSON.stringify({ collectors }));
  return loadConfig({ file, env: {} });
}

describe('collectors config', () => {
  it('defaults: every collector on, every minute; loopback and virtual bridges excluded', () => {
    const c = load({}).collectors;
    expect([c.storage.schedule, c.bandwidth.schedule, c.compute.schedule]).toEqual(['* * * * *', '* * * * *', '* * * * *']);
    expect(c.bandwidth.exclude).toEqual(['lo', 'docker*', 'veth*', 'br-*', 'virbr*']);
    expect(c.compute.host).toBe(true);
  });

  it('a file overrides one key and keeps the other defaults', () => {
    const c = load({ bandwidth: { include: ['eth*'] }, storage: { paths: ['/srv/data'] } }).collectors;
    expect(c.bandwidth.include).toEqual(['eth*']);
    expect(c.bandwidth.exclude).toContain('lo');
    expect(c.storage.paths).toEqual(['/srv/data']);
  });

  it.each([
    [{ storage: { schedule: '61 * * * *' } }, /collectors\.storage\.schedule: must be a cron expression/],
    [{ storage: { paths: ['relative/dir'] } }, /collectors\.storage\.paths\.0: must be an absolute path/],
    [{ bandwidth: { exclude: ['has space'] } }, /collectors\.bandwidth\.exclude\.0: must be an interface name pattern/],
    [{ bandwidth: { maxRateBytesPerSecond: -5 } }, /collectors\.bandwidth\.maxRateBytesPerSecond/],
    [{ compute: { processes: [{ name: 'nginx', pid: 12 }] } }, /collectors\.compute\.processes\.0: give exactly one of name or pid/],
    [
      { compute: { processes: [{ name: 'a-very-long-process-name' }] } },
      /collectors\.compute\.processes\.0\.name: a process name \(comm\) has at most 15 characters/,
    ],
    [{ compute: { cgroups: [{ path: '../escape' }] } }, /collectors\.compute\.cgroups\.0\.path: must be a path below the cgroup root/],
    [{ compute: { colour: 'blue' } }, /collectors\.compute: Unrecognized key/],
  ])('refuses %j naming the field', (collectors, message) => {
    expect(() => load(collectors)).toThrow(message);
  });
});
