// The agent gives back what a burst of work left behind once it is quiet again. V8 keeps the
// young generation it grew for the burst and the old space it promoted into, SQLite keeps the
// pages it cached (the writer's cache is 32 MB), until something asks for them back: every few
// seconds the agent looks at its own CPU time, and once quiet after an interval with work it runs a
// full garbage collection and `PRAGMA shrink_memory` on its connections (four times, over 35 s). An idle
// agent does nothing; a busy one is never interrupted (a quiet interval means no load to slow).
//
// SQLite's freed pages (8 KiB each in a new database) are holes in the C heap that glibc keeps
// resident: free() gives memory back only from the top of the heap, and something allocated
// later always sits above them (after a burst: 15-25 MB). glibc's malloc_trim() returns the free
// pages of every arena to the system; Node has no way to call it, but SQLite's extension loader
// calls a named function of a shared library with the connection as its first argument, and
// malloc_trim's only argument is the slack to keep at the top of the heap (a pointer's worth: the
// top is left to free(), the holes, which it cannot give back, are released). Nothing else
// changes: the library is libc itself, already loaded; the throwaway connection loads no
// extension into any database.
import { createRequire } from 'node:module';
import v8 from 'node:v8';
import vm from 'node:vm';

export interface MemoryTrimOptions {
  /** The connections whose page caches are released (writer, reader). */
  readonly connections: () => ReadonlyArray<{ pragma(source: string): unknown }>;
  /** How often the agent looks (default 5 s). */
  readonly intervalMs?: number;
  /** CPU share of one core below which an interval counts as quiet (default 2 %). */
  readonly quietShare?: number;
  /** Return the C heap's free pages to the system after each trim (glibc; default true). */
  readonly releaseHeap?: boolean;
}

export interface MemoryTrim {
  /** Trims now (tests, and the first quiet interval after start). */
  trim(): void;
  stop(): void;
}

/** V8's full collection, from a context where --expose-gc is on; null if V8 refuses. */
function fullGc(): (() => void) | null {
  const exposed = globalThis.gc;
  if (typeof exposed === 'function') return () => void exposed();
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

interface LoadsExtensions {
  loadExtension(file: string, entryPoint?: string): unknown;
  close(): unknown;
}

/** glibc's malloc_trim() (see above), or null where there is none (macOS, musl, Windows). */
export function mallocTrim(): (() => boolean) | null {
  if (process.platform !== 'linux') return null;
  let Database: new (file: string) => LoadsExtensions;
  try {
    Database = createRequire(import.meta.url)('better-sqlite3') as typeof Database;
  } catch {
    return null;
  }
  const call = (): boolean | null => {
    const db = new Database(':memory:');
    try {
      db.loadExtension('libc.so.6', 'malloc_trim');
      return false; // it returned 0: nothing to release
    } catch (err) {
      // SQLite reads malloc_trim's 1 ("memory was released") as a failed initialisation.
      return /error during initialization/.test((err as Error).message) ? true : null;
    } finally {
      db.close();
    }
  };
  // Not glibc (no libc.so.6, no malloc_trim in it): nothing to call.
  if (call() === null) return null;
  return () => call() === true;
}

/** V8's default: each young-generation growth doubles it (bin/tally.mjs holds it at 1 while the agent starts). */
const SEMI_SPACE_GROWTH_FACTOR = 2;

export function startMemoryTrim(o: MemoryTrimOptions): MemoryTrim {
  const intervalMs = o.intervalMs ?? 5_000;
  const quietShare = o.quietShare ?? 0.02;
  const gc = fullGc();
  const releaseHeap = o.releaseHeap === false ? null : mallocTrim();
  let last = process.cpuUsage();
  // Quiet intervals since the last one with work; start-up itself is work.
  let quiet = 0;
  const trim = () => {
    gc?.();
    for (const c of o.connections()) {
      try {
        c.pragma('shrink_memory');
      } catch {
        // a closed connection: nothing to release
      }
    }
    releaseHeap?.();
  };
  const timer = setInterval(() => {
    const now = process.cpuUsage();
    const share = (now.user - last.user + now.system - last.system) / 1000 / intervalMs;
    last = now;
    quiet = share >= quietShare ? 0 : quiet + 1;
    // At once, then 5, 15 and 35 s later: V8 shrinks the young generation only when a collection
    // finds the allocation rate low, which the first one after a burst does not, and each later
    // collection gives back a little more.
    if (quiet === 1 || quiet === 2 || quiet === 4 || quiet === 8) trim();
  }, intervalMs);
  timer.unref();
  // Start-up is the first burst (modules loaded, schemas built): give it back now, 2 s later, and
  // once V8's allocation rate (measured over 5 s) no longer counts it. Then bursts of requests may
  // grow the young generation again (fewer scavenges under load).
  trim();
  const afterStart = [
    setTimeout(trim, 2_000),
    setTimeout(() => {
      trim();
      if (!/--semi-space-growth-factor/.test(`${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`))
        v8.setFlagsFromString(`--semi-space-growth-factor=${SEMI_SPACE_GROWTH_FACTOR}`);
    }, 6_000),
  ];
  for (const t of afterStart) t.unref();
  return {
    trim,
    stop: () => {
      clearInterval(timer);
      for (const t of afterStart) clearTimeout(t);
    },
  };
}
