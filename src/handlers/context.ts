// What the service layer works with: the config, the database (kysely for reads), the one
// writer, an event bus for live updates, and a clock.
import { EventEmitter } from 'node:events';
import type { Events, EventName } from '../core/api/contract';
import type { Config } from '../config/config';
import type { TallyDb } from '../storage/open';
import type { BatchedWriter } from '../storage/writer';

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
  readonly tdb: TallyDb;
  readonly writer: BatchedWriter;
  readonly events: EventBus;
  readonly now: () => number;
  /** The JSON config file the config was loaded from (Settings saves there); default: defaultConfigFile(). */
  readonly configFile?: string;
}
