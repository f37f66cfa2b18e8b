// Runs the bundled `tally` CLI as a user would, with its own environment.
import { execFile, spawnSync } from 'node:child_process';
import path from 'node:path';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A user's environment: PATH, HOME and no config file, plus the test's own variables. */
const cliEnv = (env: Record<string, string>) => ({
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '/tmp',
  TALLY_CONFIG: '/nonexistent/tally-test-config.json',
  ...env,
});

export function tally(args: readonly string[], env: Record<string, string> = {}, input?: string): CliResult {
  const r = spawnSync(process.execPath, [path.resolve('bin/tally.mjs'), ...args], {
    encoding: 'utf8',
    input,
    env: cliEnv(env),
    timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `tally` without blocking this process: for a server under test that runs in it and must answer. */
export function tallyAsync(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.resolve('bin/tally.mjs'), ...args], { env: cliEnv(env), timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

export function tallyJson<T = unknown>(args: readonly string[], env: Record<string, string> = {}): T {
  const r = tally([...args, '--json'], env);
  if (r.code !== 0) throw new Error(`tally ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
