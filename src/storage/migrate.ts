// Applies the numbered SQL migrations. Each runs in its own transaction together with the
// row that records it. The applied list must be a prefix of the known list: a database that
// has a migration this code does not know was written by a newer Tally and is refused.
import type BetterSqlite3 from 'better-sqlite3';
import { migrations as knownMigrations, type Migration } from '../../migrations/index';
import { TallyError } from '../core/errors';

export function latestVersion(list: readonly Migration[] = knownMigrations): number {
  return list.at(-1)?.id ?? 0;
}

function appliedMigrationsTable(sqlite: BetterSqlite3.Database): boolean {
  return sqlite.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get() !== undefined;
}

export function appliedMigrations(sqlite: BetterSqlite3.Database): { id: number; name: string }[] {
  if (!appliedMigrationsTable(sqlite)) return [];
  return sqlite.prepare('SELECT id, name FROM schema_migrations ORDER BY id').all() as { id: number; name: string }[];
}

/**
 * Refuses an SQLite file of another program (tables, but no schema_migrations): Tally would add
 * its tables to it (and narrow its mode) when a mistyped --db names it.
 */
export function refuseForeign(sqlite: BetterSqlite3.Database): void {
  if (appliedMigrationsTable(sqlite)) return;
  const names = sqlite
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name LIMIT 4")
    .pluck()
    .all() as string[];
  if (names.length === 0) return;
  const shown = names.slice(0, 3).join(', ') + (names.length > 3 ? ', …' : '');
  throw new TallyError('invalid_input', `db: ${sqlite.name} is not a Tally database (it holds tables ${shown}): check --db or TALLY_DB`, {
    field: 'db',
  });
}

export function checkMigrationList(list: readonly Migration[]): void {
  for (let i = 1; i < list.length; i++) {
    if (list[i]!.id <= list[i - 1]!.id) throw new Error(`migrations are not in increasing order at ${list[i]!.id}`);
  }
}

/** Brings the database to `target` (default: the latest). Returns the ids it applied. */
export function migrate(
  sqlite: BetterSqlite3.Database,
  options: { list?: readonly Migration[]; target?: number; now?: () => number } = {},
): number[] {
  const list = options.list ?? knownMigrations;
  const target = options.target ?? latestVersion(list);
  const now = options.now ?? Date.now;
  checkMigrationList(list);
  refuseForeign(sqlite);
  sqlite.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);

  const applied = appliedMigrations(sqlite);
  applied.forEach((a, i) => {
    const known = list[i];
    if (!known || known.id !== a.id) {
      throw new TallyError(
        'unsupported',
        `this database has migration ${a.id} (${a.name}), which this version of Tally does not know: ` +
          `it was written by a newer Tally (schema ${applied.at(-1)!.id}, this one knows up to ${latestVersion(list)}). ` +
          'Upgrade Tally, or point --db at another database.',
      );
    }
  });

  const done: number[] = [];
  const record = sqlite.prepare('INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)');
  for (const m of list.slice(applied.length)) {
    if (m.id > target) break;
    sqlite
      .transaction(() => {
        sqlite.exec(m.sql);
        record.run(m.id, m.name, now());
      })
      .immediate();
    done.push(m.id);
  }
  return done;
}

/**
 * Where a database stands against this code without changing it (for read-only opens):
 * 'current', 'older' (needs migrations a writer applies), or refused when it is from a newer Tally.
 */
export function schemaState(sqlite: BetterSqlite3.Database, list: readonly Migration[] = knownMigrations): 'current' | 'older' {
  refuseForeign(sqlite);
  const applied = appliedMigrations(sqlite);
  applied.forEach((a, i) => {
    if (list[i]?.id !== a.id) {
      throw new TallyError(
        'unsupported',
        `this database has schema ${applied.at(-1)!.id}, written by a newer Tally (this one knows up to ${latestVersion(list)}). ` +
          'Upgrade Tally, or point --db at another database.',
      );
    }
  });
  return applied.length === list.length ? 'current' : 'older';
}
