// Attach to the running agent or start one: a pure decision over what discovery found, so it is
// tested without processes.
import path from 'node:path';

export interface FoundAgent {
  readonly url: string;
  readonly pid: number;
  readonly db: string;
  readonly token: string;
}

export interface LockInfo {
  readonly pid: number;
  readonly alive: boolean;
}

export type AgentDecision =
  | { readonly action: 'attach'; readonly agent: FoundAgent }
  | { readonly action: 'start'; readonly db: string }
  | { readonly action: 'wait'; readonly reason: string };

/**
 * - an agent answers for our database → attach to it;
 * - none answers and no live process holds the writer lock → start the agent's code ourselves;
 * - none answers but a live process holds the lock (an import or `tally demo` running) → wait,
 *   since a second writer would be refused anyway.
 */
export function decideAgent(input: {
  readonly wantedDb: string;
  readonly found: FoundAgent | null;
  readonly lock: LockInfo | null;
}): AgentDecision {
  const wanted = path.resolve(input.wantedDb);
  if (input.found && (input.found.db === '' || path.resolve(input.found.db) === wanted)) return { action: 'attach', agent: input.found };
  if (input.lock?.alive)
    return { action: 'wait', reason: `another Tally process (pid ${input.lock.pid}) is writing ${wanted}; waiting for it to finish` };
  return { action: 'start', db: wanted };
}

export type AgentLaunch =
  | { readonly kind: 'utility'; readonly modulePath: string; readonly args: readonly string[] }
  | { readonly kind: 'node'; readonly command: string; readonly args: readonly string[] };

/**
 * How the app starts its own agent. Packaged, the agent's code runs in an Electron utility
 * process against the better-sqlite3 that packaging rebuilt for Electron. From a source checkout
 * (`npm run desktop`) node_modules holds the Node build of better-sqlite3 (the CLI and tests need
 * it), so the agent runs under Node as `tally agent`, exactly as a user would start it.
 */
export function agentLaunch(input: {
  readonly packaged: boolean;
  readonly mainDir: string;
  readonly appRoot: string;
  readonly db: string;
  readonly node?: string;
}): AgentLaunch {
  const args = ['agent', '--port', '0', '--db', input.db];
  if (input.packaged) return { kind: 'utility', modulePath: path.join(input.mainDir, 'agent-host.js'), args: ['--db', input.db] };
  return { kind: 'node', command: input.node || 'node', args: [path.join(input.appRoot, 'bin', 'tally.mjs'), ...args] };
}
