// tally archive [--older-than 90d] [--out FILE] [--include-unsynced], tally archive restore FILE,
// tally archive list, and tally maintenance. Archive and restore write, so they take the writer
// lock; with an agent running they go through its API (archive.run, archive.restore, maintenance.run).
import path from 'node:path';
import { Command } from 'commander';
import { invalid, TallyError } from '../../core/errors';
import { archiveRecords, listArchives, restoreArchive } from '../../archive/archive';
import { runMaintenance } from '../../archive/maintenance';
import { openDatabase } from '../../storage/open';
import { acquireWriterLock } from '../../storage/lock';
import type { Config } from '../../config/config';
import { agentFor, callHandler } from '../call';
import { configFor, globals, withReadOnly } from '../context';
import { formatTable, print, printJson } from '../output';
import { progressBar } from './progress';

/** "90d", "12w", "90" (days) → days. */
export function parseDays(text: string, field = 'older-than'): number {
  const m = /^(\d{1,5})\s*([dw]?)$/.exec(text.trim());
  if (!m) throw invalid(field, `"${text}" must be a number of days such as 90d (or weeks: 12w)`);
  const days = Number(m[1]) * (m[2] === 'w' ? 7 : 1);
  if (days < 1) throw invalid(field, 'must be at least 1 day');
  return days;
}

function withLock<T>(config: Readonly<Config>, fn: () => Promise<T>): Promise<T> {
  let lock;
  try {
    lock = acquireWriterLock(config.db);
  } catch (err) {
    if (err instanceof TallyError && err.code === 'locked') {
      throw new TallyError(
        'locked',
        `${err.message} Stop the agent first, or run this through the agent's API (archive.run, archive.restore, maintenance.run).`,
        { cause: err },
      );
    }
    throw err;
  }
  return fn().finally(() => lock.release());
}

export function registerArchive(program: Command): void {
  const archive = program
    .command('archive')
    .description('move old records to a compressed, verified file, then delete them (rollups stay)')
    .option('--older-than <age>', 'records older than this many days (90d, 12w)', '90d')
    .option('--out <file>', 'archive file, .jsonl.gz (default: archive/ beside the database)')
    .option('--include-unsynced', 'also archive records no sync target has acknowledged yet')
    .option('--force', 'overwrite an existing file')
    .action(async (o: { olderThan: string; out?: string; includeUnsynced?: boolean; force?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const config = configFor(g);
      const days = parseDays(o.olderThan);
      const now = Date.now();
      // A running agent archives for us (it holds the database); else this process does, under the lock.
      const agent = await agentFor(config);
      const bar = progressBar('archive', !g.json && !agent);
      const r = agent
        ? await callHandler(config, 'archive.run', {
            olderThanDays: days,
            ...(o.out === undefined ? {} : { path: path.resolve(o.out) }),
            includeUnsynced: o.includeUnsynced ?? false,
            overwrite: o.force ?? false,
          })
        : await withLock(config, async () => {
            // Open once as a writer so the database is migrated before the archive reads it.
            await openDatabase(config.db).close();
            return archiveRecords({
              dbPath: config.db,
              cutoff: now - days * 86_400_000,
              out: o.out,
              includeUnsynced: o.includeUnsynced,
              force: o.force,
              now,
              onProgress: (d, t) => bar.update(d, t),
            }).finally(() => bar.stop());
          });
      if (g.json) return printJson(r);
      if (r.file === null) print(`no records older than ${days} days to archive (before ${r.cutoff})`);
      else
        print(
          `archived ${r.archived} records recorded before ${r.cutoff} to ${r.file} (${r.bytes} bytes, sha256 ${r.sha256}); rollups kept`,
        );
      if (r.skippedUnsynced > 0)
        print(`kept ${r.skippedUnsynced} old records not yet acknowledged by a sync target (--include-unsynced archives them anyway)`);
      if (r.keptNewest) print('kept the newest record: the local sequence must not go back');
    });

  archive
    .command('restore')
    .description("bring an archive's records back (idempotent; rollups are not touched)")
    .argument('<file>')
    .action(async (file: string, _o: unknown, cmd: Command) => {
      const g = globals(cmd);
      const config = configFor(g);
      const r = (await agentFor(config))
        ? await callHandler(config, 'archive.restore', { path: path.resolve(file) })
        : await withLock(config, () => restoreArchive({ dbPath: config.db, file, now: Date.now() }));
      if (g.json) return printJson(r);
      print(
        `restored ${r.restored} of ${r.records} records from ${r.file}${r.alreadyPresent ? ` (${r.alreadyPresent} were already there)` : ''}`,
      );
    });

  archive
    .command('list')
    .description('archives written from this database')
    .action(async (_o: unknown, cmd: Command) => {
      const g = globals(cmd);
      const list = await withReadOnly(configFor(g), async (tdb) => listArchives(tdb.sqlite));
      if (g.json) return printJson(list);
      if (list.length === 0) return print('no archives');
      print(
        formatTable(
          ['created', 'records', 'from', 'to', 'restored', 'file'],
          list.map((a) => [
            a.createdAt.slice(0, 19),
            a.records,
            a.from?.slice(0, 10) ?? '',
            a.to?.slice(0, 10) ?? '',
            a.restoredAt?.slice(0, 10) ?? '',
            a.file,
          ]),
        ),
      );
    });

  program
    .command('maintenance')
    .description('checkpoint the WAL, PRAGMA optimize, and VACUUM when ≥ 20 % and ≥ 8 MiB of the file are free')
    .option('--vacuum <when>', 'auto, always or never', 'auto')
    .action(async (o: { vacuum: string }, cmd: Command) => {
      const g = globals(cmd);
      if (!['auto', 'always', 'never'].includes(o.vacuum)) throw invalid('vacuum', `"${o.vacuum}" must be auto, always or never`);
      const config = configFor(g);
      const vacuum = o.vacuum as 'auto' | 'always' | 'never';
      const r = (await agentFor(config))
        ? await callHandler(config, 'maintenance.run', { vacuum })
        : await withLock(config, async () => {
            const tdb = openDatabase(config.db);
            try {
              return runMaintenance(tdb.sqlite, { vacuum: o.vacuum as 'auto' | 'always' | 'never' });
            } finally {
              await tdb.close();
            }
          });
      if (g.json) return printJson(r);
      const checkpoint = 'checkpoint' in r ? (r.checkpoint as { checkpointed: number; busy: boolean }) : null;
      if (checkpoint)
        print(`checkpoint: ${checkpoint.checkpointed} WAL pages copied${checkpoint.busy ? ' (a reader was busy)' : ''}; optimize: done`);
      else print('checkpoint and optimize: done by the agent');
      print(`${r.reason}${r.vacuumed ? `; VACUUM: ${r.bytesBefore} → ${r.bytesAfter} bytes` : ''}`);
    });
}
