// A worker thread with its own database connection, started on first use and stopped after a
// while without work: its heap and connection are given back between bursts, and the next use
// starts it again. Shared by the background checkpointer and the analytics reads.
import type { Worker } from 'node:worker_threads';

export interface IdleWorkerEvents<M> {
  /** A message from the current worker. */
  readonly message: (m: M) => void;
  /** The current worker failed (err) or exited by itself (null): it is dropped, the next use starts another. */
  readonly lost: (err: Error | null) => void;
}

export class IdleWorker<M> {
  private worker: Worker | null = null;
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly spawn: () => Worker,
    private readonly idleMs: number,
    private readonly on: IdleWorkerEvents<M>,
  ) {}

  /** The worker, started if need be; it is not stopped for idleness until `idle()`. Unref'd: ref it while the process must wait for it. */
  busy(): Worker {
    this.clearIdle();
    if (this.worker) return this.worker;
    const w = this.spawn();
    w.unref();
    w.on('message', (m: M) => this.on.message(m));
    // A worker stopped here is no longer `worker`: its exit concerns nobody.
    w.on('error', (err) => this.drop(w, err));
    w.on('exit', () => this.drop(w, null));
    this.worker = w;
    return w;
  }

  /** The process waits for the worker (an answer it cannot end without) until `idle()` or `stop()`. */
  hold(): void {
    this.worker?.ref();
  }

  /** Nothing is in flight: the worker no longer holds the process up, and stops after idleMs unless used again. */
  idle(): void {
    this.worker?.unref();
    this.clearIdle();
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      void this.stop();
    }, this.idleMs);
    this.idleTimer.unref();
  }

  /** Stops the worker now, if there is one. */
  async stop(): Promise<void> {
    this.clearIdle();
    const w = this.worker;
    this.worker = null;
    await w?.terminate();
  }

  private drop(w: Worker, err: Error | null): void {
    if (this.worker !== w) return;
    this.worker = null;
    this.on.lost(err);
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }
}
