// Allocated size of a tree with du's semantics: st_blocks × 512 for every entry (directories
// included), symlinks not followed, a file with several hard links counted once (by dev+ino).
// The walk is asynchronous with a bounded number of filesystem calls in flight, so a large tree
// never blocks the event loop (the calls run on libuv's thread pool) nor floods it.
import fsp from 'node:fs/promises';
import path from 'node:path';

export interface WalkStat {
  readonly dev: number;
  readonly ino: number;
  readonly nlink: number;
  readonly blocks: number;
  isDirectory(): boolean;
}

/** The filesystem calls the walk makes; tests inject failures here (root reads everything). */
export interface WalkFs {
  lstat(p: string): Promise<WalkStat>;
  readdir(p: string): Promise<string[]>;
}

export const nodeWalkFs: WalkFs = {
  lstat: (p) => fsp.lstat(p),
  readdir: (p) => fsp.readdir(p),
};

export interface WalkResult {
  readonly bytes: number;
  readonly entries: number;
  /** Directories that could not be listed and entries that could not be stat'ed. */
  readonly unreadable: number;
  /** The first few of them, for the log. */
  readonly unreadableSamples: ReadonlyArray<{ path: string; code: string }>;
}

export interface WalkOptions {
  readonly fs?: WalkFs;
  /** Filesystem calls in flight at once. */
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
}

/** Measures `root`. A root that cannot be stat'ed is an error; anything below it is counted, not fatal. */
export async function measureTree(root: string, o: WalkOptions = {}): Promise<WalkResult> {
  const wfs = o.fs ?? nodeWalkFs;
  const concurrency = Math.max(1, o.concurrency ?? 8);
  const seen = new Set<string>();
  let bytes = 0;
  let entries = 0;
  let unreadable = 0;
  const samples: Array<{ path: string; code: string }> = [];
  const fail = (p: string, err: unknown) => {
    unreadable++;
    if (samples.length < 5) samples.push({ path: p, code: (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN' });
  };
  const count = (st: WalkStat) => {
    entries++;
    if (st.nlink > 1 && !st.isDirectory()) {
      const key = `${st.dev}:${st.ino}`;
      if (seen.has(key)) return;
      seen.add(key);
    }
    bytes += st.blocks * 512;
  };

  const rootStat = await wfs.lstat(root);
  count(rootStat);
  const dirs: string[] = rootStat.isDirectory() ? [root] : [];
  // Files waiting for lstat, and directories waiting for readdir: one shared queue of jobs.
  const files: string[] = [];
  let inFlight = 0;
  let failure: unknown = null;

  await new Promise<void>((resolve) => {
    const pump = () => {
      if (o.signal?.aborted && failure === null) failure = o.signal.reason ?? new Error('aborted');
      while (failure === null && inFlight < concurrency && (files.length > 0 || dirs.length > 0)) {
        inFlight++;
        // Stat files first: it keeps the queue of names short on wide directories.
        if (files.length > 0) {
          const p = files.pop()!;
          wfs
            .lstat(p)
            .then(
              (st) => {
                count(st);
                if (st.isDirectory()) dirs.push(p);
              },
              (err) => fail(p, err),
            )
            .finally(done);
        } else {
          const d = dirs.pop()!;
          wfs
            .readdir(d)
            .then(
              (names) => {
                for (const n of names) files.push(path.join(d, n));
              },
              (err) => fail(d, err),
            )
            .finally(done);
        }
      }
      if (inFlight === 0 && (failure !== null || (files.length === 0 && dirs.length === 0))) resolve();
    };
    const done = () => {
      inFlight--;
      pump();
    };
    pump();
  });
  if (failure !== null) throw failure;
  return { bytes, entries, unreadable, unreadableSamples: samples };
}
