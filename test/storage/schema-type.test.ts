// The kysely `Database` type (src/storage/schema.ts) against the database the migrations make:
// every table and every column of a migrated file is in the type, and nothing in the type is
// missing from the file. A migration that adds a column the type lacks fails here, so no code
// has to cast rows by hand.
import path from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TallyDb } from '../../src/storage/open';
import { testDb } from '../helpers/db';

/** Table → column names, read from the `Database` interface with the TypeScript compiler. */
function typeColumns(): Map<string, string[]> {
  const file = path.resolve('src/storage/schema.ts');
  const program = ts.createProgram([file], {
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file)!;
  const db = source.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === 'Database')!;
  const out = new Map<string, string[]>();
  for (const table of checker.getTypeAtLocation(db).getProperties()) {
    const rowType = checker.getTypeOfSymbolAtLocation(table, db);
    out.set(
      table.name,
      rowType.getProperties().map((p) => p.name),
    );
  }
  return out;
}

describe('the schema type matches the migrated database', () => {
  let tdb: TallyDb;
  beforeAll(async () => {
    tdb = await testDb();
  });
  afterAll(async () => {
    await tdb?.close();
  });

  it('every table and column the migrations make is typed, and every typed one exists', () => {
    const tables = tdb.sqlite
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
      .pluck()
      .all() as string[];
    const actual = new Map(
      tables.map((t) => [t, (tdb.sqlite.prepare(`PRAGMA table_info("${t}")`).all() as Array<{ name: string }>).map((c) => c.name).sort()]),
    );
    const typed = typeColumns();
    expect([...typed.keys()].sort()).toEqual([...actual.keys()].sort());
    for (const [table, columns] of actual) expect([table, [...(typed.get(table) ?? [])].sort()]).toEqual([table, columns]);
  });
});
