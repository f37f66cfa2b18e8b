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
import { IdleWorker } from './idle-worker';

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
  private readonly worker: IdleWorker<CheckpointReply>;
  /** The checkpoint under way: settled by its reply, or by the loss of its worker. */
  private inFlight: Promise<void> | null = null;
  private settle: () => void = () => undefined;
  private records = 0;
  private commits = 0;
  private closed = false;
  /** Checkpoints done and failed, for the writer's metrics. */
  readonly counts = { done: 0, failed: 0 };
  private readonly everyRecords: number;
  private readonly everyCommits: number;

  constructor(file: string, options: CheckpointerOptions = {}) {
    this.everyRecords = options.everyRecords ?? 20_000;
    this.everyCommits = options.everyCommits ?? 100;
    const module = createRequire(import.meta.url).resolve('better-sqlite3');
    // A checkpoint never keeps the process alive (the worker stays unref'd). A failed worker is
    // dropped: the writer's own automatic checkpoint still bounds the WAL, and the next request
    // starts a new worker.
    this.worker = new IdleWorker(() => new Worker(WORKER_SOURCE, { eval: true, workerData: { module, file } }), options.idleMs ?? 30_000, {
      message: (reply) => {
        if (reply.ok) this.counts.done++;
        else this.counts.failed++;
        options.onReply?.(reply);
        this.settled();
        this.worker.idle();
      },
      lost: (err) => {
        if (err) this.counts.failed++;
        this.settled();
      },
    });
  }

  /** After each commit: asks for a checkpoint when enough was written since the last one. */
  committed(records: number): void {
    if (this.closed) return;
    this.records += records;
    this.commits++;
    if (this.inFlight || (this.records < this.everyRecords && this.commits < this.everyCommits)) return;
    this.records = 0;
    this.commits = 0;
    this.inFlight = new Promise<void>((resolve) => (this.settle = resolve));
    this.worker.busy().postMessage(null);
  }

  private settled(): void {
    this.inFlight = null;
    this.settle();
  }

  /** Stops the worker (waiting for a checkpoint under way to end). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.inFlight) {
      // The worker is unref'd: without this a process whose last work is this close would end
      // before the answer (exit code 13, an unsettled await), and whatever follows close never runs.
      this.worker.hold();
      await this.inFlight;
    }
    await this.worker.stop();
  }
}
