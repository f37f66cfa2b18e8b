// What every command needs: the resolved config, and the database opened as a reader or as
// the (locked) writer. Commands stay small and never open SQLite themselves.
import fs from 'node:fs';
import type { Command } from 'commander';
import { TallyError } from '../core/errors';
import { loadConfig, type Config, type ConfigInput } from '../config/config';
import { openDatabase, type TallyDb } from '../storage/open';
import { schemaState } from '../storage/migrate';
import { openReadOnly } from '../storage/read-only';
import type { BatchedWriter } from '../storage/writer';

export interface GlobalOptions {
  db?: string;
  config?: string;
  customer?: string;
  json?: boolean;
  durability?: string;
}

/** The options of the root program, wherever in the tree the command sits. */
export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

export function configFor(opts: GlobalOptions): Readonly<Config> {
  const overrides: ConfigInput = {};
  // Given but empty (`--db "$UNSET"`) is refused by the config's checks, never read as not given.
  if (opts.db !== undefined) overrides.db = opts.db;
  if (opts.customer !== undefined) overrides.customerId = opts.customer;
  if (opts.durability) {
    if (opts.durability !== 'normal' && opts.durability !== 'full') {
      throw new TallyError('invalid_input', `--durability: "${opts.durability}" must be normal or full`, { field: 'durability' });
    }
    overrides.writer = { durability: opts.durability };
  }
  return loadConfig({ file: opts.config, overrides });
}

/**
 * Opens the database read-only (query_only) for a command that changes nothing: it works on a
 * read-only file or folder and while an agent writes. A missing database is refused, never
 * created. A database older than this code is upgraded first when nobody else writes it.
 */
export async function withReadOnly<T>(config: Readonly<Config>, fn: (tdb: TallyDb) => Promise<T>): Promise<T> {
  if (config.db !== ':memory:' && !fs.existsSync(config.db)) {
    throw new TallyError(
      'not_found',
      `no database at ${config.db}: check --db (or TALLY_DB), or create one by recording something (tally track …) or with tally demo`,
      { field: 'db' },
    );
  }
  let tdb = openReadOnly(config.db);
  if (schemaState(tdb.sqlite) === 'older') {
    await tdb.close();
    await withWriter(config, async () => undefined); // applies the migrations under the writer lock
    tdb = openReadOnly(config.db);
  }
  try {
    return await fn(tdb);
  } finally {
    await tdb.close();
  }
}

/** Takes the writer lock, opens the writer, runs `fn`, then flushes and releases everything. */
export async function withWriter<T>(config: Readonly<Config>, fn: (writer: BatchedWriter, tdb: TallyDb) => Promise<T>): Promise<T> {
  // Loaded here, not at start: commands that only read never need the writer.
  const [{ acquireWriterLock }, { BatchedWriter }, { writerOptions }, { ensureBuiltins }] = await Promise.all([
    import('../storage/lock'),
    import('../storage/writer'),
    import('../agent/writer-options'),
    import('../storage/repos/services'),
  ]);
  const lock = acquireWriterLock(config.db);
  try {
    const tdb = openDatabase(config.db, { durability: config.writer.durability });
    try {
      await ensureBuiltins(tdb.db, Date.now());
      const writer = await BatchedWriter.open(tdb, writerOptions(config));
      try {
        return await fn(writer, tdb);
      } finally {
        await writer.close();
      }
    } finally {
      await tdb.close();
    }
  } finally {
    lock.release();
  }
}
