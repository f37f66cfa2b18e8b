// WAL checkpoints on a second thread. SQLite's automatic checkpoint runs inside the COMMIT that
// crosses wal_autocheckpoint pages: it copies the WAL into the database file and fsyncs both, and
// meanwhile the agent's event loop (HTTP answers, the next commit) waits. Measured on a 2-core
// machine: ~0.25 µs of every record's wall time at 300 000 records/s, and fsync stalls of tens of
// ms under small commits. Here the writer asks a worker thread, with its own connection, for a
// PASSIVE checkpoint every so much written; the worker copies while the writer goes on appending
// (WAL mode allows one checkpointer beside the writer; open.ts refuses the SQLite versions where
// the two could race). The writer's own automatic checkpoint stays as a backstop at a larger
// size, for when the worker cannot keep up or fails.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** The writer connection's automatic checkpoint with a worker beside it (pages): only a backstop. */
export const BACKSTOP_PAGES = 8000;

// CommonJS source run with `eval`: no bundle file to find, in tests on the sources or in dist/.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 0');
parentPort.on('message', () => {
  let reply;
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)');
    reply = { ok: true, busy: row.busy === 1, log: row.log, checkpointed: row.checkpointed };
  } catch (err) {
    reply = { ok: false, message: String(err && err.message) };
  }
  parentPort.postMessage(reply);
});
`;

export interface CheckpointReply {
  readonly ok: boolean;
  readonly busy?: boolean;
  /** Frames in the WAL, and how many of them are now in the database file. */
  readonly log?: number;
  readonly checkpointed?: number;
  readonly message?: string;
}

export interface CheckpointerOptions {
  /** Ask for a checkpoint once this many records were committed since the last one... */
  readonly everyRecords?: number;
  /** ...or this many commits (small commits write whole pages each: the WAL grows per commit). */
  readonly everyCommits?: number;
  /** The worker stops after this long without a checkpoint to do (its memory is given back). */
  readonly idleMs?: number;
  /** Each finished checkpoint (tests, diagnostics). */
  readonly onReply?: (reply: CheckpointReply) => void;
}

export class BackgroundCheckpointer {
  private worker: Worker | null = null;
  private inFlight = false;
  private records = 0;
  private commits = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Checkpoints done and failed, for the writer's metrics. */
  readonly counts = { done: 0, failed: 0 };
  private readonly everyRecords: number;
  private readonly everyCommits: number;
  private readonly idleMs: number;

  constructor(
    private readonly file: string,
    private readonly options: CheckpointerOptions = {},
  ) {
    this.everyRecords = options.everyRecords ?? 20_000;
    this.everyCommits = options.everyCommits ?? 100;
    this.idleMs = options.idleMs ?? 30_000;
  }

  /** After each commit: asks for a checkpoint when enough was written since the last one. */
  committed(records: number): void {
    if (this.closed) return;
    this.records += records;
    this.commits++;
    if (this.inFlight || (this.records < this.everyRecords && this.commits < this.everyCommits)) return;
    this.records = 0;
    this.commits = 0;
    this.request();
  }

  private request(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.worker ??= this.start();
    this.inFlight = true;
    this.worker.postMessage(null);
  }

  private start(): Worker {
    const module = createRequire(import.meta.url).resolve('better-sqlite3');
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, file: this.file } });
    w.unref(); // a checkpoint never keeps the process alive
    w.on('message', (reply: CheckpointReply) => {
      this.inFlight = false;
      if (reply.ok) this.counts.done++;
      else this.counts.failed++;
      this.options.onReply?.(reply);
      this.armIdle();
    });
    // A failed worker is dropped: the writer's own automatic checkpoint still bounds the WAL,
    // and the next request starts a new worker.
    w.on('error', () => {
      if (this.worker === w) this.dropWorker();
      this.counts.failed++;
    });
    w.on('exit', () => {
      if (this.worker === w) this.dropWorker();
    });
    return w;
  }

  private dropWorker(): void {
    this.worker = null;
    this.inFlight = false;
  }

  private armIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.inFlight || !this.worker) return;
      const w = this.worker;
      this.worker = null;
      void w.terminate();
    }, this.idleMs);
    this.idleTimer.unref();
  }

  /** Stops the worker (waiting for a checkpoint under way to end). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    const w = this.worker;
    this.worker = null;
    if (!w) return;
    if (this.inFlight) await new Promise<void>((resolve) => w.once('message', () => resolve()).once('exit', () => resolve()));
    await w.terminate();
  }
}
