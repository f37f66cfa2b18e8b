// What the agent gives back once quiet: the C heap's free pages go back to the system (glibc's
// malloc_trim through SQLite's extension loader), and the database connections keep working.
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { mallocTrim, startMemoryTrim } from '../../src/agent/memory';

const report = process.report.getReport() as { header?: { glibcVersionRuntime?: string } };
const glibc = process.platform === 'linux' && typeof report.header?.glibcVersionRuntime === 'string';

describe('memory trim', () => {
  it.runIf(glibc)('returns the pages SQLite freed to the system, and the connection keeps its data', () => {
    const release = mallocTrim();
    expect(release).not.toBeNull();
    const db = new BetterSqlite3(':memory:');
    db.pragma('cache_size = -64000');
    db.exec('CREATE TABLE t (a INTEGER, b TEXT)');
    const insert = db.prepare('INSERT INTO t VALUES (?, ?)');
    db.transaction(() => {
      for (let i = 0; i < 100_000; i++) insert.run(i, 'x'.repeat(100));
    })();
    db.pragma('shrink_memory');
    // A connection opened after the pages were cached sits above them in the heap.
    const later = new BetterSqlite3(':memory:');
    later.exec('CREATE TABLE k (a)');
    expect(release!()).toBe(true);
    expect(db.prepare('SELECT count(*) AS n, sum(a) AS s FROM t').get()).toEqual({ n: 100_000, s: 4_999_950_000 });
    later.close();
    db.close();
  });

  it('trims on start and stops cleanly; a closed connection is skipped', () => {
    const db = new BetterSqlite3(':memory:');
    db.close();
    const live = new BetterSqlite3(':memory:');
    const trim = startMemoryTrim({ connections: () => [db, live] });
    trim.trim();
    trim.stop();
    expect(live.prepare('SELECT 1 AS one').get()).toEqual({ one: 1 });
    live.close();
  });
});
