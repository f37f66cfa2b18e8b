// collector_state: each collector's last readings (JSON per key), read at the start of a run
// and replaced at its end in one transaction. All of the collectors' SQL is here.
import type BetterSqlite3 from 'better-sqlite3';

export class CollectorStateRepo {
  private readonly select: BetterSqlite3.Statement;
  private readonly clear: BetterSqlite3.Statement;
  private readonly upsert: BetterSqlite3.Statement;
  private readonly replaceTx: BetterSqlite3.Transaction<
    (collector: string, entries: Readonly<Record<string, unknown>>, now: number) => void
  >;

  constructor(sqlite: BetterSqlite3.Database) {
    this.select = sqlite.prepare('SELECT key, value FROM collector_state WHERE collector = ?');
    this.clear = sqlite.prepare('DELETE FROM collector_state WHERE collector = ?');
    this.upsert = sqlite.prepare(
      `INSERT INTO collector_state (collector, key, value, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (collector, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    );
    this.replaceTx = sqlite.transaction((collector: string, entries: Readonly<Record<string, unknown>>, now: number) => {
      this.clear.run(collector);
      for (const [key, value] of Object.entries(entries)) {
        if (value !== undefined) this.upsert.run(collector, key, JSON.stringify(value), now);
      }
    });
  }

  /** key → parsed value; a row that is not JSON is skipped (the collector then starts a new baseline). */
  load(collector: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const row of this.select.all(collector) as Array<{ key: string; value: string }>) {
      try {
        out[row.key] = JSON.parse(row.value);
      } catch {
        // unreadable state is no state
      }
    }
    return out;
  }

  /** Replaces the collector's whole state atomically. */
  replace(collector: string, entries: Readonly<Record<string, unknown>>, now: number): void {
    this.replaceTx.immediate(collector, entries, now);
  }
}
