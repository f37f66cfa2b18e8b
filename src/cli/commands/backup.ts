// tally backup --out FILE: a verified copy of the database, safe while the agent writes.
// tally restore FILE: puts a backup in place; refused while an agent (or any writer) holds the database.
import type { Command } from 'commander';
import { backupDatabase, restoreDatabase } from '../../storage/backup';
import { acquireWriterLock } from '../../storage/lock';
import { configFor, globals } from '../context';
import { print, printJson } from '../output';

export function registerBackup(program: Command): void {
  program
    .command('backup')
    .description("copy the database to a file with SQLite's online backup (safe while the agent runs), verified with integrity_check")
    .requiredOption('--out <file>', 'the backup file')
    .option('--force', 'replace an existing file')
    .action(async (o: { out: string; force?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const config = configFor(g);
      const r = await backupDatabase(config.db, o.out, { force: o.force });
      if (g.json) return printJson(r);
      print(`backed up ${r.records} records to ${r.file} (${r.bytes} bytes, schema ${r.schema ?? 'none'}, integrity_check ok)`);
    });

  program
    .command('restore')
    .description('replace the database with a backup (verified first; the replaced database is kept beside it); stop the agent first')
    .argument('<file>', 'a file made by `tally backup`')
    .action(async (file: string, _o: unknown, cmd: Command) => {
      const g = globals(cmd);
      const config = configFor(g);
      // The lock refuses while an agent holds the database, naming it.
      const lock = acquireWriterLock(config.db, 'tally restore');
      try {
        const r = restoreDatabase(config.db, file, Date.now());
        if (g.json) return printJson(r);
        print(`restored ${r.records} records from ${r.from} into ${r.db}`);
        if (r.previous) print(`the database it replaced is kept as ${r.previous}`);
      } finally {
        lock.release();
      }
    });
}
