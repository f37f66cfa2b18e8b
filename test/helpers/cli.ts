// Runs the bundled `tally` CLI as a user would, with its own environment.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function tally(args: readonly string[], env: Record<string, string> = {}, input?: string): CliResult {
  const r = spawnSync(process.execPath, [path.resolve('bin/tally.mjs'), ...args], {
    encoding: 'utf8',
    input,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', TALLY_CONFIG: '/nonexistent/tally-test-config.json', ...env },
    timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function tallyJson<T = unknown>(args: readonly string[], env: Record<string, string> = {}): T {
  const r = tally([...args, '--json'], env);
  if (r.code !== 0) throw new Error(`tally ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
