// The ClickHouse store: inserts (insert.ts), reads (reads.ts) and corrections (corrections.ts)
// behind the collector's store interface. Batches and corrections of one host run one at a time:
// an id only ever arrives with its own host's token, so a re-sent batch cannot race its first
// delivery, and the materialized rollups see every id once. (A record forged with another
// host's id is the one case the look-up-free path lets through: counted twice in the rollups,
// once by the raw reads; an agent can record any usage anyway.) ReplacingMergeTree is the second
// line: rows of one id collapse when parts merge, and raw reads count each id once regardless.
import { goodRecords, type CollectorStore, type ValidBatch } from '../store';
import { applyClickHouseCorrections } from './corrections';
import { rows, unreachable, type ChConnection } from './connection';
import { groupInsert, highestId, insertNew, recordLine } from './insert';
import { exportCsv, reportSource } from './reads';

/** Runs `fn` after every earlier call with the same key has settled. */
function serializer() {
  const tails = new Map<string, Promise<unknown>>();
  return <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const run = (tails.get(key) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => undefined);
    tails.set(key, tail);
    void tail.then(() => tails.get(key) === tail && tails.delete(key));
    return run;
  };
}

/**
 * Stores a batch, skipping the look-up when every id is above the host's highest id held: an
 * agent's ids (ULIDs) grow, so fresh batches, the common case, need none; a re-sent one does.
 * The mark is learnt from ClickHouse once per host, raised after each insert, and forgotten
 * when an insert fails (it may have landed): the next batch learns it again.
 */
function storeBatches(c: ChConnection) {
  const insert = groupInsert(c);
  const marks = new Map<string, string>();
  return async (batch: ValidBatch, hostId: string, now: number): Promise<number> => {
    const lines = goodRecords(batch).map((r) => recordLine(r, now));
    const mark = marks.get(hostId) ?? (await highestId(c, hostId));
    try {
      const inserted = await insertNew(c, lines, insert, mark);
      marks.set(
        hostId,
        lines.reduce((m, l) => (l.id > m ? l.id : m), mark),
      );
      return inserted;
    } catch (err) {
      marks.delete(hostId);
      throw err;
    }
  };
}

export function clickhouseStore(c: ChConnection): CollectorStore {
  const serial = serializer();
  const storeBatch = storeBatches(c);
  return {
    kind: 'clickhouse',
    async store(batch: ValidBatch, hostId: string, now: number) {
      try {
        return await serial(hostId, () => storeBatch(batch, hostId, now));
      } catch (err) {
        throw unreachable(err) ?? err;
      }
    },
    report: reportSource(c),
    async seenServices() {
      const found = await rows<{ service: string }>(c.entry, `SELECT DISTINCT service FROM ${c.tables.rollups} WHERE period = 'month'`);
      return found.map((r) => r.service);
    },
    correct: (hostId, list, now) => serial(hostId, () => applyClickHouseCorrections(c, hostId, list, now)),
    exportCsv: (range, out) => exportCsv(c, range, out),
    close: () => c.close(),
  };
}
