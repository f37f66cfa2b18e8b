// The sync worker: for each target, sends the records after its cursor in batches and moves the
// cursor only after the endpoint acknowledged them (2xx). The record's global id is the
// idempotency key, so a batch whose answer was lost is simply sent again. Failures back off
// exponentially with full jitter; a record the endpoint refuses is kept aside, shown, and
// skipped; refused credentials stop the target until someone fixes them.
import type { SyncTargetStatus } from '../core/api/sync';
import { backoffDelay, type BackoffPolicy } from '../core/sync/backoff';
import type { NewRejection, Outbox, StatePatch, TargetState } from '../core/sync/outbox';
import { adapterFor, windowWarnings, type ResolvedTarget } from '../core/sync/targets';
import type { Adapter, Outcome, Session, SyncRecord } from '../core/sync/types';
import { fetchTransport, type Transport } from './transport';

/** Stripe and the like: an unknown outcome older than the dedup window minus this is not re-sent. */
const DEDUP_MARGIN_MS = 60 * 60_000;

export interface SyncEngineOptions {
  readonly outbox: Outbox;
  readonly timeoutMs: number;
  readonly backoff: BackoffPolicy;
  readonly transport?: Transport;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly log?: (line: Record<string, unknown>) => void;
  /** Send the next batch while the endpoint stores the current one (default true). */
  readonly pipeline?: boolean;
  /** After the records, the corrections of records the target holds (src/sync/corrections.ts). */
  readonly corrections?: (target: ResolvedTarget, ackedSeq: number, transport: Transport) => Promise<{ retry?: { reason: string } }>;
}

export interface PassResult {
  readonly target: string;
  /** idle: nothing left to send; waiting: backing off until `until`; stopped: credentials refused. */
  readonly status: 'idle' | 'waiting' | 'stopped' | 'disabled';
  readonly delivered: number;
  readonly rejected: number;
  readonly until?: number;
  readonly error?: string;
}

export type TargetStatus = SyncTargetStatus;

type Delivery = { ok: true } | { ok: false; outcome: Outcome };

/** A batch read from the outbox: what was set aside locally, what goes out, and its request if sent. */
interface Prepared {
  readonly batch: SyncRecord[];
  readonly local: NewRejection[];
  readonly sendable: SyncRecord[];
  readonly outcome: Promise<Outcome> | null;
}

function redact(text: string, token: string | null): string {
  return token && token.length >= 4 ? text.split(token).join('[token]') : text;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export class SyncEngine {
  private readonly sessions = new Map<string, Session>();
  private readonly transport: Transport;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly log: (line: Record<string, unknown>) => void;
  private readonly pipeline: boolean;

  constructor(private readonly o: SyncEngineOptions) {
    this.transport = o.transport ?? fetchTransport;
    this.now = o.now ?? Date.now;
    this.random = o.random ?? Math.random;
    this.log = o.log ?? (() => undefined);
    this.pipeline = o.pipeline ?? true;
  }

  private readonly running = new Map<string, Promise<PassResult>>();

  /** Sends until the outbox is empty, a failure asks to wait, or the target is stopped. One pass per target at a time. */
  syncTarget(target: ResolvedTarget, options: { ignoreBackoff?: boolean } = {}): Promise<PassResult> {
    const busy = this.running.get(target.name);
    if (busy) return busy;
    const pass = this.pass(target, options).finally(() => this.running.delete(target.name));
    this.running.set(target.name, pass);
    return pass;
  }

  private async pass(target: ResolvedTarget, options: { ignoreBackoff?: boolean }): Promise<PassResult> {
    const { outbox } = this.o;
    if (!target.enabled) return { target: target.name, status: 'disabled', delivered: 0, rejected: 0 };
    const adapter = adapterFor(target, this.now);
    let st = await outbox.state(target.name);
    if (st.stopped !== null) return { target: target.name, status: 'stopped', delivered: 0, rejected: 0, error: st.stopped };
    if (!options.ignoreBackoff && st.nextAttempt !== null && st.nextAttempt > this.now()) {
      return {
        target: target.name,
        status: 'waiting',
        delivered: 0,
        rejected: 0,
        until: st.nextAttempt,
        ...(st.lastError ? { error: st.lastError } : {}),
      };
    }
    let delivered = 0;
    let rejectedCount = 0;
    const size = Math.min(target.batchSize, adapter.maxBatch);
    const prepare = (batch: SyncRecord[]): Prepared => {
      const local: NewRejection[] = [];
      const sendable: SyncRecord[] = [];
      const now = this.now();
      // A batch sent before with no clear answer, past the vendor's dedup window: re-sending
      // could bill twice, so those records wait for a person instead.
      const pastDedup =
        adapter.dedupWindowMs !== null &&
        st.unknownSince !== null &&
        st.unknownToSeq !== null &&
        now - st.unknownSince >= adapter.dedupWindowMs - DEDUP_MARGIN_MS;
      for (const r of batch) {
        if (pastDedup && r.seq <= st.unknownToSeq!) {
          local.push({
            seq: r.seq,
            id: r.id,
            kind: 'review',
            reason: `first sent ${iso(st.unknownSince)} without a clear answer; the endpoint's dedup window has passed, so re-sending could bill twice: check whether it arrived, then retry or leave it`,
          });
          continue;
        }
        const why = adapter.precheck(r, now);
        if (why !== null) local.push({ seq: r.seq, id: r.id, kind: 'rejected', reason: why });
        else sendable.push(r);
      }
      // Nothing set aside: the batch itself goes out (the outbox may have built its request text whole).
      return { batch, local, sendable: local.length === 0 ? batch : sendable, outcome: null };
    };
    const start = (p: Prepared): Prepared => {
      if (p.sendable.length === 0) return p;
      const outcome = this.send(target, adapter, p.sendable);
      outcome.catch(() => undefined); // awaited later, or dropped when an earlier batch fails
      return { ...p, outcome };
    };
    // The native contract's records come with their request JSON when the outbox can build it.
    const read =
      adapter.kind === 'tally' && outbox.wireBatch
        ? (after: number) => outbox.wireBatch!(after, size)
        : (after: number) => outbox.batch(after, size);
    // Batches sent ahead of the one being acknowledged: one for vendors; two for a Tally collector,
    // which stores them concurrently, so its database is not idle while the next batch is read,
    // sent and checked (bench:sync, one agent: about 5-10 % more records/s; three agents, which keep
    // it busy anyway, about 3-6 % fewer).
    const depth = !this.pipeline ? 0 : adapter.kind === 'tally' ? 2 : 1;
    const ahead: Prepared[] = [];
    for (;;) {
      const cur: Prepared = ahead.shift() ?? start(prepare(await read(st.ackedSeq)));
      const batch = cur.batch;
      if (batch.length === 0) {
        await this.correct(target, st.ackedSeq);
        return { target: target.name, status: 'idle', delivered, rejected: rejectedCount };
      }
      // While this batch is in flight, read and send the next ones: the endpoint stores one while
      // the agent prepares another. Acks still go strictly in order; a failure drops the look-ahead.
      for (let last = ahead.at(-1)?.batch ?? batch; ahead.length < depth && last.length === size;) {
        const next = await read(last.at(-1)!.seq);
        if (next.length === 0) break;
        ahead.push(start(prepare(next)));
        last = next;
      }
      const pendingRejections = [...cur.local];
      let settled = 0;
      const ackThrough = async (toSeq: number) => {
        const mine = pendingRejections.filter((r) => r.seq <= toSeq);
        // Records set aside locally (outside a vendor window) are not a success of the endpoint's.
        const sent = cur.sendable.some((r) => r.seq <= toSeq);
        const patch: StatePatch = { lastError: null, attempts: 0, nextAttempt: null, ...(sent ? { lastSuccess: this.now() } : {}) };
        if (st.unknownToSeq !== null && toSeq >= st.unknownToSeq) Object.assign(patch, { unknownSince: null, unknownToSeq: null });
        await outbox.ack(target.name, toSeq, mine, patch, this.now());
        rejectedCount += mine.length;
        settled += mine.length;
        for (const r of mine) pendingRejections.splice(pendingRejections.indexOf(r), 1);
        st = await outbox.state(target.name);
      };
      const result = await this.deliver(target, adapter, cur.sendable, pendingRejections, ackThrough, cur.outcome);
      if (!result.ok) {
        // The look-ahead went out too: its fate is as unknown as this batch's (Stripe's dedup window).
        const sentToo: SyncRecord[] = [];
        for (const p of ahead) {
          if (!p.outcome) continue;
          await p.outcome;
          sentToo.push(...p.batch);
        }
        return { ...(await this.fail(target, st, [...batch, ...sentToo], result.outcome)), delivered, rejected: rejectedCount };
      }
      await ackThrough(batch.at(-1)!.seq);
      delivered += batch.length - settled;
    }
  }

  /**
   * Sends `records`, splitting a batch the endpoint refuses as a whole until the bad records are
   * found. Records it refuses one by one join `rejections`; `progress(seq)` is called when every
   * record up to seq is settled, so a split batch keeps its delivered half even if the next half fails.
   */
  private async deliver(
    target: ResolvedTarget,
    adapter: Adapter,
    records: readonly SyncRecord[],
    rejections: NewRejection[],
    progress: ((lastSeq: number) => Promise<void>) | null,
    sent: Promise<Outcome> | null = null,
  ): Promise<Delivery> {
    if (records.length === 0) return { ok: true };
    const outcome = await (sent ?? this.send(target, adapter, records));
    if (outcome.kind === 'delivered') {
      for (const r of outcome.rejected) {
        const rec = records[r.index]!;
        rejections.push({ seq: rec.seq, id: rec.id, kind: 'rejected', reason: redact(r.reason, target.token) });
      }
      return { ok: true };
    }
    if (outcome.kind !== 'split') return { ok: false, outcome };
    if (records.length === 1) {
      rejections.push({ seq: records[0]!.seq, id: records[0]!.id, kind: 'rejected', reason: redact(outcome.reason, target.token) });
      return { ok: true };
    }
    const mid = Math.ceil(records.length / 2);
    const left = await this.deliver(target, adapter, records.slice(0, mid), rejections, progress);
    if (!left.ok) return left;
    if (progress) await progress(records[mid - 1]!.seq);
    return this.deliver(target, adapter, records.slice(mid), rejections, progress);
  }

  /** One request (and, for session-based vendors, the session it needs). */
  private async send(target: ResolvedTarget, adapter: Adapter, records: readonly SyncRecord[]): Promise<Outcome> {
    for (let reauth = 0; reauth < 2; reauth++) {
      let session: Session | null = null;
      if (adapter.session) {
        const cached = this.sessions.get(target.name);
        if (cached && cached.expiresAt > this.now() + 30_000) session = cached;
        else {
          const sres = await this.transport(adapter.session.request(), this.o.timeoutMs);
          if (!sres.ok) return { kind: 'retry', reason: sres.reason, unknown: false };
          const read = adapter.session.read(sres.res, this.now());
          if ('kind' in read) return read;
          this.sessions.set(target.name, read);
          session = read;
        }
      }
      const res = await this.transport(adapter.request(records, session), this.o.timeoutMs);
      if (!res.ok) return { kind: 'retry', reason: res.reason, unknown: true };
      const outcome = adapter.classify(res.res, records);
      if (outcome.kind !== 'reauth') return outcome;
      this.sessions.delete(target.name);
    }
    return { kind: 'retry', reason: 'the endpoint kept refusing fresh sessions', unknown: false };
  }

  private async fail(target: ResolvedTarget, st: TargetState, batch: readonly SyncRecord[], raw: Outcome): Promise<PassResult> {
    const now = this.now();
    // Reasons quote endpoint answers; an endpoint that echoes the credential must not put it in logs or status.
    const outcome = 'reason' in raw ? ({ ...raw, reason: redact(raw.reason, target.token) } as Outcome) : raw;
    if (outcome.kind === 'stop') {
      await this.o.outbox.patch(target.name, { stopped: outcome.reason, lastError: outcome.reason, nextAttempt: null }, now);
      this.log({ level: 'error', msg: 'sync target stopped', target: target.name, error: outcome.reason });
      return { target: target.name, status: 'stopped', delivered: 0, rejected: 0, error: outcome.reason };
    }
    const reason = 'reason' in outcome ? outcome.reason : 'unexpected answer';
    const attempts = st.attempts + 1;
    const retryAfterMs = outcome.kind === 'retry' ? outcome.retryAfterMs : undefined;
    const until = now + backoffDelay(attempts - 1, this.o.backoff, this.random, retryAfterMs);
    const patch: StatePatch = { lastError: reason, attempts, nextAttempt: until };
    if (outcome.kind === 'retry' && outcome.unknown) {
      // Remember the first time this batch's fate was unknown: vendors dedup only for so long.
      Object.assign(patch, { unknownSince: st.unknownSince ?? now, unknownToSeq: Math.max(st.unknownToSeq ?? 0, batch.at(-1)!.seq) });
    }
    await this.o.outbox.patch(target.name, patch, now);
    this.log({ level: 'warn', msg: 'sync failed, will retry', target: target.name, error: reason, retryInMs: until - now });
    return { target: target.name, status: 'waiting', delivered: 0, rejected: 0, until, error: reason };
  }

  /** Corrections go after the records; one that must wait is tried on the next pass. */
  private async correct(target: ResolvedTarget, ackedSeq: number): Promise<void> {
    if (!this.o.corrections) return;
    const r = await this.o.corrections(target, ackedSeq, this.transport).catch((err: Error) => ({ retry: { reason: err.message } }));
    if (r.retry)
      this.log({ level: 'warn', msg: 'sync correction will be retried', target: target.name, error: redact(r.retry.reason, target.token) });
  }

  /** Sends a target's rejected (and for-review) records again, after a fix. */
  async retryRejected(target: ResolvedTarget): Promise<{ delivered: number; stillRejected: number; error?: string }> {
    const { outbox } = this.o;
    const adapter = adapterFor(target, this.now);
    const rows = await outbox.rejected(target.name, 100_000);
    let delivered = 0;
    let still = 0;
    const chunk = Math.min(target.batchSize, adapter.maxBatch);
    for (let i = 0; i < rows.length; i += chunk) {
      const records = await outbox.records(rows.slice(i, i + chunk).map((r) => r.seq));
      const rejections: NewRejection[] = [];
      const sendable: SyncRecord[] = [];
      for (const r of records) {
        const why = adapter.precheck(r, this.now());
        if (why !== null) rejections.push({ seq: r.seq, id: r.id, kind: 'rejected', reason: why });
        else sendable.push(r);
      }
      const result = await this.deliver(target, adapter, sendable, rejections, null);
      if (!result.ok)
        return { delivered, stillRejected: rows.length - delivered, error: 'reason' in result.outcome ? result.outcome.reason : 'failed' };
      const bad = new Set(rejections.map((r) => r.seq));
      const ok = records.filter((r) => !bad.has(r.seq)).map((r) => r.seq);
      await outbox.settleRejections(target.name, ok, rejections, this.now());
      delivered += ok.length;
      still += rejections.length;
    }
    return { delivered, stillRejected: still };
  }

  async status(target: ResolvedTarget): Promise<TargetStatus> {
    const { outbox } = this.o;
    const st = await outbox.state(target.name);
    const pending = await outbox.pending(target.name, st.ackedSeq);
    return {
      name: target.name,
      kind: target.kind,
      url: target.url,
      enabled: target.enabled,
      origin: target.origin,
      ackedSeq: st.ackedSeq,
      pending: pending.count,
      oldestUnsent: iso(pending.oldestAt),
      lastSuccess: iso(st.lastSuccess),
      lastError: st.lastError,
      nextAttempt: iso(st.nextAttempt),
      stopped: st.stopped,
      rejected: await outbox.rejectedCount(target.name),
      warnings: windowWarnings(target.kind, pending.oldestAt, st.unknownSince, this.now()),
    };
  }

  /** Forgets the current backoff (a user asked to sync now); a stopped target stays stopped. */
  async clearBackoff(target: string): Promise<void> {
    await this.o.outbox.patch(target, { nextAttempt: null }, this.now());
  }

  /** Restarts a stopped target (after its token was fixed) and clears its backoff. */
  async resume(target: string): Promise<void> {
    this.sessions.delete(target);
    await this.o.outbox.patch(target, { stopped: null, nextAttempt: null, attempts: 0 }, this.now());
  }
}
