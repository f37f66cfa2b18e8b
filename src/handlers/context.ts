// What the service layer works with: the config, the database (kysely for reads), the one
// writer, an event bus for live updates, and a clock.
import { EventEmitter } from 'node:events';
import type { Events, EventName } from '../core/api/contract';
import type { Config } from '../config/config';
import type { TallyDb } from '../storage/open';
import type { ReadDb } from '../storage/schema';
import type { BatchedWriter } from '../storage/writer';
import type { HeavyReads } from '../analytics/heavy';

const ANY = Symbol('any event');

export class EventBus {
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  emit<E extends EventName>(event: E, payload: Events[E]): void {
    this.emitter.emit(event, payload);
    this.emitter.emit(ANY, event, payload);
  }
  /** Every event with its name: the HTTP API relays them all as server-sent events. */
  onAny(listener: (event: EventName, payload: Events[EventName]) => void): () => void {
    this.emitter.on(ANY, listener);
    return () => this.emitter.off(ANY, listener);
  }
  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void {
    this.emitter.on(event, listener);
    return () => this.emitter.off(event, listener);
  }
}

export interface AgentContext {
  readonly config: Readonly<Config>;
  /** The writer's connection: handlers that change something use it (through repositories or the writer). */
  readonly tdb: TallyDb;
  /** A read-only connection for reports (WAL snapshots): reads never run on the writer's connection. Default: tdb. */
  readonly reader?: TallyDb;
  /** Percentiles and breakdowns over raw records, on a worker thread in the agent. Default: inline on the reader. */
  readonly heavy?: HeavyReads;
  readonly writer: BatchedWriter;
  readonly events: EventBus;
  readonly now: () => number;
  /** The JSON config file the config was loaded from (Settings saves there); default: defaultConfigFile(). */
  readonly configFile?: string;
}

/** The connection read-only handlers read through. */
export function readDb(ctx: AgentContext): ReadDb {
  return (ctx.reader ?? ctx.tdb).db;
}

/** ctx.heavy, or the same reads inline on the reader (their code loaded on first use: most calls never need it). */
export function heavyReads(ctx: AgentContext): HeavyReads {
  if (ctx.heavy) return ctx.heavy;
  const db = readDb(ctx);
  const inline = async () => (await import('../analytics/heavy')).inlineReads(db);
  return {
    stats: async (q) => (await inline()).stats(q),
    breakdown: async (q) => (await inline()).breakdown(q),
    close: async () => undefined,
  };
}
