// How programs on this machine find the running agent: beside its database the agent keeps
// `agent.token` (the API token, 0600) and, while it runs, `agent.json` {url, pid, startedAt, db}.
import fs from 'node:fs';
import path from 'node:path';
import { holderIsAlive, lockPathFor, readLockHolder } from '../storage/lock';

export const TOKEN_FILE = 'agent.token';
export const DISCOVERY_FILE = 'agent.json';

export interface AgentInfo {
  readonly url: string;
  readonly pid: number;
  readonly startedAt: string;
  /** The database the agent writes, as an absolute path. */
  readonly db: string;
}

export interface DiscoveredAgent extends AgentInfo {
  readonly token: string;
  readonly version: string;
}

/** The folder holding a database's files: the agent's token and discovery file live there. */
export function dataDirOf(dbPath: string): string {
  return path.dirname(path.resolve(dbPath));
}

export function readAgentInfo(dataDir: string): AgentInfo | null {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(path.join(dataDir, DISCOVERY_FILE), 'utf8'));
  } catch {
    return null;
  }
  const r = raw as Partial<AgentInfo> | null;
  if (typeof r?.url !== 'string' || !/^http:\/\//.test(r.url) || typeof r.pid !== 'number') return null;
  return { url: r.url, pid: r.pid, startedAt: String(r.startedAt ?? ''), db: String(r.db ?? '') };
}

export function readToken(dataDir: string): string | null {
  try {
    const token = fs.readFileSync(path.join(dataDir, TOKEN_FILE), 'utf8').trim();
    return token.length > 0 ? token : null;
  } catch {
    return null;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The agent running on `dataDir`, when one answers its health check; null otherwise (no
 * discovery file, a stale one left by a crash, or an agent that does not answer in time).
 */
export async function discoverAgent(
  dataDir: string,
  options: { timeoutMs?: number; fetch?: typeof fetch } = {},
): Promise<DiscoveredAgent | null> {
  const info = readAgentInfo(dataDir);
  if (!info || !processAlive(info.pid)) return null;
  const token = readToken(dataDir);
  if (!token) return null;
  const doFetch = options.fetch ?? fetch;
  try {
    const res = await doFetch(`${info.url}/healthz`, { signal: AbortSignal.timeout(options.timeoutMs ?? 2000) });
    if (!res.ok) return null;
    const health = (await res.json()) as { ok?: boolean; version?: string };
    if (health.ok !== true) return null;
    return { ...info, token, version: String(health.version ?? '') };
  } catch {
    return null;
  }
}

/** Who holds a database's writer lock, if anyone, and whether that process still lives: a program deciding whether to start an agent asks this. */
export function writerOf(dbPath: string): { pid: number; alive: boolean } | null {
  const holder = readLockHolder(lockPathFor(dbPath));
  return holder ? { pid: holder.pid, alive: holderIsAlive(holder) } : null;
}
