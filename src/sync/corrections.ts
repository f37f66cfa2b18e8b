// Delivers the corrections outbox to one target, after its records: in order, each correction
// once. A correction waits until the target holds the record it corrects (acked), is settled
// as "delivered" when the target applied it (or never had the record), or "manual" when only a
// person can fix it at the vendor. The settle row is written after the answer, and the request
// carries an idempotency key, so a SIGKILL between the two only sends it again harmlessly.
import type BetterSqlite3 from 'better-sqlite3';
import { correctionAdapterFor, manualReason, type SyncCorrection } from '../core/sync/corrections';
import type { ResolvedTarget } from '../core/sync/targets';
import { rowToCorrection } from '../storage/corrections';
import type { CorrectionDbRow } from '../storage/schema';
import type { Transport } from './transport';

export interface CorrectionPass {
  readonly delivered: number;
  readonly manual: number;
  /** Set when a correction must be tried again later. */
  readonly retry?: { readonly reason: string; readonly retryAfterMs?: number };
}

type Row = CorrectionDbRow;

/** The corrections outbox over the agent's SQLite database. */
export class SqliteCorrections {
  private readonly s: Record<string, BetterSqlite3.Statement>;

  constructor(sqlite: BetterSqlite3.Database) {
    this.s = {
      cursor: sqlite.prepare('SELECT coalesce(max(correction_seq), 0) FROM sync_corrections WHERE target = ?').pluck(),
      next: sqlite.prepare('SELECT * FROM corrections WHERE seq > ? ORDER BY seq LIMIT ?'),
      rejected: sqlite.prepare('SELECT 1 FROM sync_rejections WHERE target = ? AND seq = ?').pluck(),
      settle: sqlite.prepare(
        `INSERT INTO sync_corrections (target, correction_seq, state, note, at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (target, correction_seq) DO NOTHING`,
      ),
    };
  }

  /** Corrections this target has not settled, in order. */
  pending(target: string, limit: number): Row[] {
    return this.s.next!.all(this.s.cursor!.get(target), limit) as Row[];
  }

  /** The target refused the record (kept aside): it never held it, there is nothing to retract. */
  neverDelivered(target: string, recordSeq: number): boolean {
    return this.s.rejected!.get(target, recordSeq) !== undefined;
  }

  settle(target: string, seq: number, state: 'delivered' | 'manual', note: string, now: number): void {
    this.s.settle!.run(target, seq, state, note, now);
  }
}

function toCorrection(r: Row): SyncCorrection {
  const costs = (JSON.parse(r.costs) as Array<[string, number]>).map(([id, costNanos]) => ({ id, costNanos }));
  return { ...rowToCorrection(r), recordSeq: r.record_seq, newSeq: r.new_seq, costs };
}

/** One pass over a target's pending corrections; stops at the first that must wait. */
export async function deliverCorrections(
  store: SqliteCorrections,
  target: ResolvedTarget,
  ackedSeq: number,
  o: { transport: Transport; timeoutMs: number; now: () => number },
): Promise<CorrectionPass> {
  const adapter = correctionAdapterFor(target, o.now);
  let delivered = 0;
  let manual = 0;
  for (;;) {
    const rows = store.pending(target.name, 100);
    if (rows.length === 0) return { delivered, manual };
    for (const r of rows) {
      if (r.record_seq > ackedSeq) return { delivered, manual }; // the record itself is not there yet
      if (store.neverDelivered(target.name, r.record_seq)) {
        store.settle(target.name, r.seq, 'delivered', 'the target never held the record', o.now());
        delivered++;
        continue;
      }
      if (adapter === null) {
        store.settle(target.name, r.seq, 'manual', manualReason(target), o.now());
        manual++;
        continue;
      }
      const c = toCorrection(r);
      const res = await o.transport(adapter.request(c), o.timeoutMs);
      if (!res.ok) return { delivered, manual, retry: { reason: res.reason } };
      const outcome = adapter.classify(res.res, c);
      if (outcome.kind === 'retry') return { delivered, manual, retry: outcome };
      store.settle(target.name, r.seq, outcome.kind, outcome.kind === 'manual' ? outcome.reason : '', o.now());
      if (outcome.kind === 'manual') manual++;
      else delivered++;
    }
  }
}

/** The engine's hook (SyncEngineOptions.corrections) over the agent's database. */
export function correctionsHook(sqlite: BetterSqlite3.Database, timeoutMs: number, now: () => number) {
  const store = new SqliteCorrections(sqlite);
  return (target: ResolvedTarget, ackedSeq: number, transport: Transport): Promise<CorrectionPass> =>
    deliverCorrections(store, target, ackedSeq, { transport, timeoutMs, now });
}
