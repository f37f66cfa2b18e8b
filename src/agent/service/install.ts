// `tally service install|uninstall|status`: where the unit goes, and the systemctl / launchctl
// commands around it. When the service manager is absent (a container, a chroot) or with
// --dry-run, the commands are printed instead of run.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { invalid, TallyError } from '../../core/errors';
import { readConfigFile } from '../../config/config';
import { defaultConfigFile, defaultDataDir } from '../../config/paths';
import { LAUNCHD_LABEL, launchdPlist, systemdUnit, writableDirs, type Scope, type ServiceSpec } from './units';

export type Manager = 'systemd' | 'launchd';

export interface ServicePlan {
  readonly manager: Manager;
  readonly scope: Scope;
  /** Where the unit / plist file goes. */
  readonly file: string;
  readonly content: string;
  readonly spec: ServiceSpec;
  /** Run after writing the file. */
  readonly enable: readonly string[][];
  /** Run before removing the file. */
  readonly disable: readonly string[][];
  readonly status: readonly string[][];
}

export interface PlanOptions {
  readonly scope?: Scope;
  readonly platform?: NodeJS.Platform;
  readonly env?: NodeJS.ProcessEnv;
  /** Put the unit file here instead of the manager's folder (tests, packaging). */
  readonly dir?: string;
  readonly node?: string;
  readonly tallyBin?: string;
  readonly dataDir?: string;
  /** The database (--db); else TALLY_DB, else the config file's `db`, else <dataDir>/tally.db. Relative to the working folder. */
  readonly db?: string | undefined;
  /** The config file (--config); else TALLY_CONFIG, else the scope's default. Relative to the working folder. */
  readonly configFile?: string | undefined;
  readonly uid?: number;
  /** Status and uninstall only describe the unit: a database they could not install is no error for them. */
  readonly describeOnly?: boolean;
}

/** The config file's `db`; a file this user cannot read (root's, for status) is passed over. */
function configuredDb(file: string): unknown {
  try {
    return readConfigFile(file).db;
  } catch (err) {
    if (err instanceof TallyError && err.code === 'unavailable') return undefined;
    throw err;
  }
}

/** Where the agent would find the database and config, as the CLI resolves them, made absolute. */
function resolvePaths(
  o: PlanOptions,
  env: NodeJS.ProcessEnv,
  defaultDir: string,
  defaultConfig: string | undefined,
): { db: string; dataDir: string; configFile: string | undefined } {
  if (o.db === '') throw invalid('db', 'must not be empty');
  if (o.configFile === '') throw invalid('config', 'must not be empty');
  const given = o.configFile ?? (env.TALLY_CONFIG || undefined);
  const configFile = given !== undefined ? path.resolve(given) : defaultConfig;
  // The unit sets TALLY_DB, which outranks the config file: a `db` set there must be carried over.
  const fromFile = configFile ? configuredDb(configFile) : undefined;
  const chosen = o.db ?? (env.TALLY_DB || undefined) ?? (typeof fromFile === 'string' && fromFile ? fromFile : undefined);
  if (chosen === ':memory:') throw invalid('db', 'an in-memory database cannot back a service: give a file');
  if (chosen === undefined) {
    const dataDir = o.dataDir ?? defaultDir;
    return { db: path.join(dataDir, 'tally.db'), dataDir, configFile };
  }
  const db = path.resolve(chosen);
  return { db, dataDir: path.dirname(db), configFile };
}

/** The path with its existing part's symlinks resolved, so a link into /tmp is seen as /tmp. */
function realish(p: string): string {
  let head = p;
  let tail = '';
  while (!fs.existsSync(head)) {
    const parent = path.dirname(head);
    if (parent === head) return p;
    tail = tail ? path.join(path.basename(head), tail) : path.basename(head);
    head = parent;
  }
  return path.join(fs.realpathSync(head), tail);
}

/**
 * The unit runs with PrivateTmp=yes: the agent would get its own empty /tmp and /var/tmp and never see
 * (or keep) a database there. Refused rather than dropping PrivateTmp, which guards a root agent against
 * /tmp races; and /tmp is emptied at boot or aged out, taking the metering history with it.
 */
function refuseTmp(field: 'db' | 'config', file: string | undefined): void {
  if (file === undefined) return;
  for (const p of new Set([file, realish(file)])) {
    if (/^\/(var\/)?tmp(\/|$)/.test(p)) {
      throw invalid(
        field,
        `${file} is under ${p.startsWith('/var') ? '/var/tmp' : '/tmp'}, which the service cannot use (it runs with PrivateTmp=yes, a /tmp of its own): choose a file outside /tmp and /var/tmp`,
      );
    }
  }
}

/** Folders the unit would make writable whole (ReadWritePaths=) if the file sat directly in one. */
const SHARED = new Set(['/', '/etc', '/usr', '/var', '/opt', '/home', '/root', '/srv', '/boot', '/bin', '/sbin', '/lib']);

/**
 * The unit makes the database's and the config's folders writable (ProtectSystem=strict makes the
 * rest read-only): a file directly in /etc or /var would open all of it. It wants a folder of its own.
 */
function refuseSharedFolder(field: 'db' | 'config', file: string | undefined): void {
  if (file === undefined) return;
  const dir = path.dirname(realish(file));
  if (SHARED.has(dir))
    throw invalid(
      field,
      `${file} is directly in ${dir}, which the service would have to make writable whole: put it in a folder of its own (such as ${path.join(dir, 'tally')})`,
    );
}

/** bin/tally.mjs of this installation: found by walking up from this file (src/… or dist/…). */
export function findTallyBin(start = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = start;
  for (;;) {
    const candidate = path.join(dir, 'bin', 'tally.mjs');
    if (fs.existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new TallyError('not_found', `bin/tally.mjs not found above ${start}`);
    dir = parent;
  }
}

export function defaultScope(uid = process.getuid?.() ?? -1): Scope {
  return uid === 0 ? 'system' : 'user';
}

export function planService(o: PlanOptions = {}): ServicePlan {
  const platform = o.platform ?? process.platform;
  const env = o.env ?? process.env;
  const uid = o.uid ?? process.getuid?.() ?? 0;
  const scope = o.scope ?? defaultScope(uid);
  const node = o.node ?? process.execPath;
  const tallyBin = o.tallyBin ?? findTallyBin();
  const home = env.HOME || os.homedir();
  if (platform === 'linux') {
    const paths = resolvePaths(
      o,
      env,
      scope === 'system' ? '/var/lib/tally' : defaultDataDir(env, platform),
      scope === 'system' ? '/etc/tally/config.json' : path.resolve(defaultConfigFile(env, platform)),
    );
    if (!o.describeOnly) {
      refuseTmp('db', paths.db);
      refuseTmp('config', paths.configFile);
      refuseSharedFolder('db', paths.db);
      refuseSharedFolder('config', paths.configFile);
    }
    const spec: ServiceSpec = { scope, node, tallyBin, ...paths };
    const dir =
      o.dir ??
      (scope === 'system' ? '/etc/systemd/system' : path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), 'systemd', 'user'));
    const ctl = scope === 'system' ? ['systemctl'] : ['systemctl', '--user'];
    return {
      manager: 'systemd',
      scope,
      file: path.join(dir, 'tally.service'),
      content: systemdUnit(spec),
      spec,
      enable: [
        [...ctl, 'daemon-reload'],
        [...ctl, 'enable', '--now', 'tally.service'],
      ],
      disable: [[...ctl, 'disable', '--now', 'tally.service']],
      status: [
        [...ctl, 'is-enabled', 'tally.service'],
        [...ctl, 'is-active', 'tally.service'],
      ],
    };
  }
  if (platform === 'darwin') {
    const system = scope === 'system';
    const defaultDir = o.dataDir ?? (system ? '/Library/Application Support/Tally' : defaultDataDir(env, platform));
    const logDir = system ? '/Library/Logs/Tally' : path.join(home, 'Library', 'Logs', 'Tally');
    // Written out even when it is the default: TALLY_HOME (the database's folder) would move the default.
    const defaultConfig = system ? path.join(defaultDir, 'config.json') : path.resolve(defaultConfigFile(env, platform));
    const spec: ServiceSpec = { scope, node, tallyBin, logDir, ...resolvePaths(o, env, defaultDir, defaultConfig) };
    const dir = o.dir ?? (system ? '/Library/LaunchDaemons' : path.join(home, 'Library', 'LaunchAgents'));
    const file = path.join(dir, `${LAUNCHD_LABEL}.plist`);
    const domain = system ? 'system' : `gui/${uid}`;
    return {
      manager: 'launchd',
      scope,
      file,
      content: launchdPlist(spec),
      spec,
      enable: [['launchctl', 'bootstrap', domain, file]],
      disable: [['launchctl', 'bootout', `${domain}/${LAUNCHD_LABEL}`]],
      status: [['launchctl', 'print', `${domain}/${LAUNCHD_LABEL}`]],
    };
  }
  throw new TallyError(
    'unsupported',
    `tally service supports Linux (systemd) and macOS (launchd), not ${platform}; run \`tally agent\` from your own service manager`,
  );
}

function onPath(cmd: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.PATH ?? '').split(path.delimiter).some((d) => d && fs.existsSync(path.join(d, cmd)));
}

/** Whether the service manager is there to talk to (systemd: booted with it, as sd_booted(3) checks). */
export function managerAvailable(manager: Manager): boolean {
  if (manager === 'systemd') return fs.existsSync('/run/systemd/system') && onPath('systemctl');
  return process.platform === 'darwin' && onPath('launchctl');
}

export function shellLine(cmd: readonly string[]): string {
  return cmd.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export interface CommandResult {
  readonly command: string;
  readonly status: number | null;
  readonly output: string;
}

function runCommands(cmds: readonly string[][], stopOnError: boolean): CommandResult[] {
  const out: CommandResult[] = [];
  for (const c of cmds) {
    const r = spawnSync(c[0]!, c.slice(1), { encoding: 'utf8', timeout: 60_000 });
    const result = { command: shellLine(c), status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
    out.push(result);
    if (stopOnError && r.status !== 0) break;
  }
  return out;
}

export interface ApplyResult {
  readonly file: string;
  readonly wrote: boolean;
  /** Commands run (with their status), or to run by hand when `printed`. */
  readonly commands: readonly CommandResult[];
  readonly printed: boolean;
}

export function installService(plan: ServicePlan, o: { dryRun?: boolean } = {}): ApplyResult {
  const printed = o.dryRun === true || !managerAvailable(plan.manager);
  if (o.dryRun)
    return {
      file: plan.file,
      wrote: false,
      printed,
      commands: plan.enable.map((c) => ({ command: shellLine(c), status: null, output: '' })),
    };
  try {
    fs.mkdirSync(path.dirname(plan.file), { recursive: true });
    // systemd refuses to start a unit whose ReadWritePaths= folder is missing.
    for (const dir of writableDirs(plan.spec)) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(plan.file, plan.content, { mode: 0o644 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EACCES' || e.code === 'EPERM') {
      throw new TallyError(
        'forbidden',
        `cannot write ${plan.file}: ${e.code}. A --system service needs root (sudo tally service install --system), or use --user`,
      );
    }
    throw err;
  }
  if (printed)
    return {
      file: plan.file,
      wrote: true,
      printed,
      commands: plan.enable.map((c) => ({ command: shellLine(c), status: null, output: '' })),
    };
  return { file: plan.file, wrote: true, printed, commands: runCommands(plan.enable, true) };
}

export function uninstallService(plan: ServicePlan, o: { dryRun?: boolean } = {}): ApplyResult {
  const printed = o.dryRun === true || !managerAvailable(plan.manager);
  const commands = printed
    ? plan.disable.map((c) => ({ command: shellLine(c), status: null, output: '' }))
    : runCommands(plan.disable, false);
  let wrote = false;
  if (!o.dryRun && fs.existsSync(plan.file)) {
    fs.rmSync(plan.file);
    wrote = true;
    if (!printed && plan.manager === 'systemd') commands.push(...runCommands([plan.enable[0]!], false)); // daemon-reload
  }
  return { file: plan.file, wrote, printed, commands };
}

export interface ServiceStatus {
  readonly file: string;
  readonly installed: boolean;
  /** The file on disk differs from what install would write now (tally moved, node upgraded). */
  readonly outdated: boolean;
  readonly manager: Manager;
  readonly managerAvailable: boolean;
  readonly checks: readonly CommandResult[];
}

export function serviceStatus(plan: ServicePlan): ServiceStatus {
  const installed = fs.existsSync(plan.file);
  const available = managerAvailable(plan.manager);
  return {
    file: plan.file,
    installed,
    outdated: installed && fs.readFileSync(plan.file, 'utf8') !== plan.content,
    manager: plan.manager,
    managerAvailable: available,
    checks: available && installed ? runCommands(plan.status, false) : [],
  };
}
