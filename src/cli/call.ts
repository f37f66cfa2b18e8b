// How a CLI command reaches the service layer. Reads run the handler in this process on a
// read-only connection (WAL snapshots: they never wait for, or block, the agent's writer).
// Changes go through the running agent when one holds this database, so it stays the only
// writer; when none runs, the handler runs here under the writer lock.
import path from 'node:path';
import type { HandlerArgs, HandlerName, HandlerResult } from '../core/api/contract';
import { READ_ONLY_CALLS } from '../core/api/read-only-calls';
import type { ApiReply } from '../core/api/reply';
import { TallyError } from '../core/errors';
import type { DiscoveredAgent } from '../client/discovery';
import type { Config } from '../config/config';
import { EventBus, type AgentContext } from '../handlers/context';
import { invokeOne } from '../handlers/domains';
import { readOnlyWriter } from '../storage/read-only';
import { withReadOnly, withWriter } from './context';

/** The agent that holds `config.db`, if one runs and answers. */
export async function agentFor(config: Readonly<Config>): Promise<DiscoveredAgent | null> {
  if (config.db === ':memory:' || process.env.TALLY_NO_AGENT === '1') return null;
  // Loaded here, not at start: a command that only reads never looks for the agent.
  const { dataDirOf, discoverAgent } = await import('../client/discovery');
  const agent = await discoverAgent(dataDirOf(config.db));
  // The data folder may hold more than one database: use the agent only for its own.
  return agent && path.resolve(agent.db) === path.resolve(config.db) ? agent : null;
}

/** POST /api/call/NAME on the agent; its reply's error comes back as the same TallyError. */
async function callAgent<K extends HandlerName>(agent: DiscoveredAgent, name: K, args: HandlerArgs<K>): Promise<HandlerResult<K>> {
  let res: Response;
  try {
    res = await fetch(`${agent.url}/api/call/${name}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agent.token}`, 'content-type': 'application/json', 'x-tally-client': 'cli' },
      body: JSON.stringify(args),
    });
  } catch (cause) {
    throw new TallyError('unavailable', `the agent at ${agent.url} did not answer (${(cause as Error).message}); try again`, { cause });
  }
  const reply = (await res.json().catch(() => null)) as ApiReply<HandlerResult<K>> | null;
  if (!reply || typeof reply !== 'object')
    throw new TallyError('unavailable', `the agent at ${agent.url} answered ${res.status} without a reply`);
  if (reply.ok) return reply.data;
  throw new TallyError(reply.error.code, reply.error.message, { field: reply.error.field });
}

function contextFor(config: Readonly<Config>, tdb: AgentContext['tdb'], writer: AgentContext['writer']): AgentContext {
  return { config, tdb, writer, events: new EventBus(), now: Date.now };
}

/** Runs one handler for a CLI command: read-only calls locally, changes through the agent or under the lock. */
export async function callHandler<K extends HandlerName>(
  config: Readonly<Config>,
  name: K,
  args: HandlerArgs<K>,
): Promise<HandlerResult<K>> {
  if (READ_ONLY_CALLS.has(name)) {
    return withReadOnly(config, (tdb) => invokeOne(contextFor(config, tdb, readOnlyWriter(name)), name, args));
  }
  const agent = await agentFor(config);
  if (agent) return callAgent(agent, name, args);
  return withWriter(config, (writer, tdb) => invokeOne(contextFor(config, tdb, writer), name, args));
}
