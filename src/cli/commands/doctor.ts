// tally doctor: the troubleshooting list as one command. One line per check, "ok" or what to do;
// --json for scripts; exit 0 when every check passes, 1 otherwise. Read-only: it never writes.
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Command } from 'commander';
import { TOKEN_FILE, dataDirOf } from '../../client/discovery';
import type { Config } from '../../config/config';
import { adapterFor, type ResolvedTarget } from '../../core/sync/targets';
import { databaseProblem, toTallyError } from '../../core/errors';
import { holderIsAlive, lockPathFor, readLockHolder } from '../../storage/lock';
import { appliedMigrations, schemaState } from '../../storage/migrate';
import { secretsFileFor } from '../../storage/secrets';
import { fetchTransport } from '../../sync/transport';
import { allTargets } from '../../sync/targets';
import { agentFor } from '../call';
import { configFor, globals } from '../context';
import { print, printJson } from '../output';

export interface Check {
  readonly check: string;
  readonly ok: boolean;
  /** What was found, or what to do when not ok. */
  readonly detail: string;
}

const MiB = 2 ** 20;
const MIN_FREE_BYTES = 256 * MiB;
const MAX_WAL_BYTES = 256 * MiB;
const PROBE_TIMEOUT_MS = 5_000;

const ok = (check: string, detail: string): Check => ({ check, ok: true, detail });
const fail = (check: string, detail: string): Check => ({ check, ok: false, detail });

function mib(bytes: number): string {
  return bytes >= 10 * 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${(bytes / MiB).toFixed(1)} MiB`;
}

/** Opens, quick_check, schema. Returns the open read-only handle for the checks that follow. */
function checkDatabase(db: string, out: Check[]): BetterSqlite3.Database | null {
  if (!fs.existsSync(db)) {
    out.push(fail('database', `no database at ${db}: start \`tally agent\` (or record something) to create it`));
    return null;
  }
  let sqlite: BetterSqlite3.Database | null = null;
  try {
    sqlite = new BetterSqlite3(db, { readonly: true, fileMustExist: true });
    const problems = (sqlite.pragma('quick_check(5)', { simple: false }) as Array<{ quick_check: string }>)
      .flatMap((r) => r.quick_check.split('\n'))
      .filter((r) => r !== 'ok' && r !== '');
    if (problems.length > 0) throw Object.assign(new Error(`quick_check: ${problems.join('; ')}`), { code: 'SQLITE_CORRUPT' });
    out.push(ok('database', `${db} opens, quick_check ok`));
  } catch (err) {
    sqlite?.close();
    out.push(fail('database', (databaseProblem(err, db) ?? toTallyError(err)).message));
    return null;
  }
  try {
    const state = schemaState(sqlite);
    const version = appliedMigrations(sqlite).at(-1)?.id ?? 0;
    out.push(
      ok('schema', state === 'current' ? `version ${version}, current` : `version ${version}: the agent upgrades it at its next start`),
    );
  } catch (err) {
    out.push(fail('schema', toTallyError(err).message));
  }
  return sqlite;
}

function checkLock(db: string, out: Check[]): boolean {
  const holder = readLockHolder(lockPathFor(db));
  if (!holder) {
    out.push(ok('lock', 'no writer holds the database'));
    return false;
  }
  if (holderIsAlive(holder)) {
    out.push(ok('lock', `held by pid ${holder.pid} (${holder.command || 'unknown command'}) since ${holder.since}`));
    return true;
  }
  out.push(ok('lock', `left by pid ${holder.pid}, which is gone (a crash?): the next writer takes it over`));
  return false;
}

async function checkAgent(config: Readonly<Config>, lockHeld: boolean, out: Check[]): Promise<void> {
  const agent = await agentFor(config);
  if (agent) out.push(ok('agent', `answers at ${agent.url} (pid ${agent.pid}, version ${agent.version})`));
  else if (lockHeld) out.push(fail('agent', 'a writer holds the database but no agent answers over HTTP: was it started with --no-http?'));
  else out.push(fail('agent', `not running for ${config.db}: start it with \`tally agent\` (or \`tally service install\`)`));
}

function checkPrivate(check: string, file: string, wanted: number, out: Check[]): void {
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (!st) return;
  if (process.platform === 'win32' || (st.mode & 0o077) === 0) out.push(ok(check, `${file} is ${(st.mode & 0o777).toString(8)}`));
  else
    out.push(fail(check, `${file} is ${(st.mode & 0o777).toString(8)}, readable by others: run \`chmod ${wanted.toString(8)} ${file}\``));
}

function checkDisk(db: string, out: Check[]): void {
  const dir = path.dirname(path.resolve(db));
  try {
    const st = fs.statfsSync(dir);
    const free = st.bavail * st.bsize;
    if (free >= MIN_FREE_BYTES) out.push(ok('disk', `${mib(free)} free for ${dir}`));
    else out.push(fail('disk', `only ${mib(free)} free for ${dir}: free some space (the agent answers 507 when the disk is full)`));
  } catch (err) {
    out.push(fail('disk', `cannot read the free space of ${dir}: ${(err as Error).message}`));
  }
  const wal = fs.statSync(`${db}-wal`, { throwIfNoEntry: false })?.size ?? 0;
  if (wal <= MAX_WAL_BYTES) out.push(ok('wal', `${mib(wal)}`));
  else out.push(fail('wal', `${mib(wal)}: checkpoints are held back; stop long-running readers (reports, exports) or restart the agent`));
}

/** An empty request with the target's real credentials: network, TLS and auth, no records sent. */
async function probeTarget(t: ResolvedTarget): Promise<Check> {
  const name = `sync target ${t.name}`;
  if (!t.enabled) return ok(name, 'disabled');
  let req;
  try {
    const adapter = adapterFor(t, Date.now);
    req = adapter.session ? adapter.session.request() : adapter.request([], null);
  } catch (err) {
    return fail(name, `cannot build a request: ${(err as Error).message}`);
  }
  const r = await fetchTransport(req, PROBE_TIMEOUT_MS);
  if (!r.ok) return fail(name, `${r.reason}: check the URL and the network (\`tally sync target list\`)`);
  const { status } = r.res;
  if (status === 401 || status === 403)
    return fail(
      name,
      `${new URL(t.url).host} refused the credentials (${status}): set the token again with \`tally sync target add ${t.name} …\``,
    );
  if (status >= 500) return fail(name, `${new URL(t.url).host} answered ${status}: the endpoint has trouble; the agent retries`);
  return ok(name, `${new URL(t.url).host} reachable, credentials accepted (${status})`);
}

function readable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

function checkCollectors(config: Readonly<Config>, out: Check[]): void {
  const c = config.collectors;
  const missing: string[] = [];
  if (process.platform === 'linux') {
    if (c.bandwidth.enabled && !readable('/proc/net/dev')) missing.push('/proc/net/dev (bandwidth)');
    if (c.compute.enabled && c.compute.host && !readable('/proc/stat')) missing.push('/proc/stat (compute)');
    if (c.compute.enabled && c.compute.cgroups.length > 0) {
      const root = c.compute.cgroupRoot ?? '/sys/fs/cgroup';
      for (const g of c.compute.cgroups) {
        const f = path.join(root, g.path, 'cpu.stat');
        if (!readable(f)) missing.push(`${f} (compute cgroup)`);
      }
    }
  }
  if (c.storage.enabled) for (const p of [...c.storage.paths, ...c.storage.volumes]) if (!readable(p)) missing.push(`${p} (storage)`);
  if (missing.length === 0) out.push(ok('collectors', 'every configured source is readable'));
  else out.push(fail('collectors', `cannot read ${missing.join(', ')}: fix the path in the config or the agent's permissions`));
}

export async function runDoctor(config: Readonly<Config>): Promise<Check[]> {
  const out: Check[] = [];
  const sqlite = checkDatabase(config.db, out);
  try {
    const held = checkLock(config.db, out);
    await checkAgent(config, held, out);
    const dir = dataDirOf(config.db);
    checkPrivate('data folder', dir, 0o700, out);
    checkPrivate('database file', config.db, 0o600, out);
    checkPrivate('token file', path.join(dir, TOKEN_FILE), 0o600, out);
    const secrets = secretsFileFor(config.db);
    if (secrets) checkPrivate('secrets file', secrets, 0o600, out);
    checkDisk(config.db, out);
    if (sqlite) {
      let targets: ResolvedTarget[] = [];
      try {
        targets = allTargets(config, sqlite);
      } catch (err) {
        out.push(fail('sync targets', toTallyError(err).message));
      }
      out.push(...(await Promise.all(targets.map(probeTarget))));
    }
    checkCollectors(config, out);
  } finally {
    sqlite?.close();
  }
  return out;
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check the database, lock, agent, permissions, disk, sync targets and collectors; exit 1 when something needs fixing')
    .action(async (_o: unknown, cmd: Command) => {
      const g = globals(cmd);
      const checks = await runDoctor(configFor(g));
      const allOk = checks.every((c) => c.ok);
      if (g.json) printJson({ ok: allOk, checks });
      else for (const c of checks) print(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.check}: ${c.detail}`);
      if (!allOk) process.exitCode = 1;
    });
}
