import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrations } from '../../migrations/index';
import { appliedMigrations, latestVersion, migrate } from '../../src/storage/migrate';
import { compareVersions, MIN_SQLITE, openDatabase, sqliteVersion } from '../../src/storage/open';
import { TallyError } from '../../src/core/errors';
import { tempDir } from '../helpers/db';

const tables = (db: BetterSqlite3.Database) =>
  (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[]).filter(
    (n) => !n.startsWith('sqlite_'),
  );

describe('migrations', () => {
  it('lists every migration file in migrations/, in order, each exactly once', () => {
    const files = fs
      .readdirSync('migrations')
      .filter((f) => f.endsWith('.sql'))
      .sort();
    expect(migrations.map((m) => `${String(m.id).padStart(4, '0')}_${m.name}.sql`)).toEqual(files);
    migrations.forEach((m, i) => i > 0 && expect(m.id).toBeGreaterThan(migrations[i - 1]!.id));
  });

  it('migrates an empty database to the latest version and records each step', () => {
    const db = new BetterSqlite3(':memory:');
    expect(migrate(db, { now: () => 1 })).toEqual(migrations.map((m) => m.id));
    expect(appliedMigrations(db).map((m) => m.id)).toEqual(migrations.map((m) => m.id));
    expect(tables(db)).toEqual(
      expect.arrayContaining([
        'usage_records',
        'rollups',
        'services',
        'price_rules',
        'quotas',
        'alert_log',
        'sync_state',
        'collector_state',
      ]),
    );
    expect(migrate(db)).toEqual([]); // idempotent
  });

  it.each(migrations.map((m) => m.id))('migrates a database at version %i to the latest, keeping its data', (version) => {
    const db = new BetterSqlite3(':memory:');
    migrate(db, { target: version });
    expect(appliedMigrations(db).at(-1)?.id).toBe(version);
    db.prepare(
      "INSERT INTO services (name, display_name, base_unit, display_unit, display_factor, created_at) VALUES ('x', 'X', 'u', 'u', 1, 0)",
    ).run();
    migrate(db);
    expect(appliedMigrations(db).at(-1)?.id).toBe(latestVersion());
    expect(db.prepare("SELECT name FROM services WHERE name = 'x'").pluck().get()).toBe('x');
  });

  it('refuses a database written by a newer Tally, naming both versions', () => {
    const file = path.join(tempDir(), 'future.db');
    const db = new BetterSqlite3(file);
    migrate(db);
    db.prepare("INSERT INTO schema_migrations (id, name, applied_at) VALUES (9999, 'from_the_future', 0)").run();
    db.close();
    let err: unknown;
    try {
      openDatabase(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TallyError);
    expect((err as TallyError).code).toBe('unsupported');
    expect((err as TallyError).message).toMatch(/9999.*newer Tally/);
  });

  it('rolls a failing migration back whole', () => {
    const db = new BetterSqlite3(':memory:');
    const broken = [...migrations, { id: 10_000, name: 'broken', sql: 'CREATE TABLE half (x); INSERT INTO nope VALUES (1);' }];
    expect(() => migrate(db, { list: broken })).toThrow(/nope/);
    expect(tables(db)).not.toContain('half');
    expect(appliedMigrations(db).at(-1)?.id).toBe(latestVersion());
  });

  it('runs on a SQLite new enough to be safe in WAL mode', () => {
    const db = new BetterSqlite3(':memory:');
    expect(compareVersions(sqliteVersion(db), MIN_SQLITE)).toBeGreaterThanOrEqual(0);
    expect(compareVersions('3.51.2', MIN_SQLITE)).toBe(-1);
    expect(compareVersions('3.51.3', MIN_SQLITE)).toBe(0);
  });

  it('opens in WAL mode with the configured durability', () => {
    const dir = tempDir();
    const normal = openDatabase(path.join(dir, 'n.db'));
    expect(normal.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(normal.sqlite.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    expect(normal.sqlite.pragma('journal_size_limit', { simple: true })).toBeGreaterThan(0);
    const full = openDatabase(path.join(dir, 'f.db'), { durability: 'full' });
    expect(full.sqlite.pragma('synchronous', { simple: true })).toBe(2); // FULL
    void normal.close();
    void full.close();
  });
});
