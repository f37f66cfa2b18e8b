// The TypeScript client for the agent's HTTP API, for other programs on the machine (and the
// CLI when an agent runs). It is a RecordSink, so `createTracker(createClient(…))` gives the
// seeds' `track.api(…)`, `track.function(…)`, … over HTTP.
//
//   record() / recordMany()  post now; resolve after the agent committed the records
//   add()                    queue in memory; posted at batchSize or after flushIntervalMs
//   flush() / close()        post what is queued; reject if some of it was refused
//
// Every record gets a ULID before its first send, so a retry after a lost answer is ignored by
// the agent as a duplicate. 429 / 503 / network errors / timeouts are retried with exponential
// backoff and full jitter, never sooner than Retry-After; a 400 is never retried.
import { monotonicFactory } from 'ulid';
import type { EventEntry, EventPage } from '../core/api/events';
import type { ApiError } from '../core/api/reply';
import type { PeriodArgs } from '../core/api/usage';
import { TallyError, toTallyError, type ErrorCode } from '../core/errors';
import type { RecordInput } from '../core/records';
import type { UsageReport } from '../analytics/usage';
import type { ServiceDefinition } from '../core/services';
import type { RecordSink, StoredRef } from '../core/tracking';
import { backoffDelay } from '../core/sync/backoff';

export { discoverAgent, type DiscoveredAgent } from './discovery';

export interface ClientOptions {
  /** The agent's address, e.g. http://127.0.0.1:7878 (see discoverAgent). */
  readonly url: string;
  readonly token: string;
  /** add(): post when this many records are queued (default 100). */
  readonly batchSize?: number;
  /** add(): post this long after the first queued record at the latest (default 1000 ms). */
  readonly flushIntervalMs?: number;
  /** Retries after the first attempt for 429 / 503 / network errors (default 5). */
  readonly retries?: number;
  /** Per attempt (default 10 000 ms). */
  readonly timeoutMs?: number;
  /** Backoff: the first retry waits up to baseMs, doubling up to maxMs (defaults 100 ms, 10 s). */
  readonly backoff?: { readonly baseMs?: number; readonly maxMs?: number };
  /** add() refuses more than this many queued records (queue_full) rather than growing without bound. */
  readonly maxQueue?: number;
  /** The agent's http.bodyLimitBytes: a larger request is refused here with a clear message instead of a 413. */
  readonly maxBodyBytes?: number;
  /** Filled into records that do not name them. */
  readonly defaults?: { readonly customerId?: string; readonly source?: string };
  /** Queued records the agent refused (a bad record, a wrong token): reported here and by the next flush(). */
  readonly onError?: (error: TallyError, records: readonly RecordInput[]) => void;
  readonly fetch?: typeof fetch;
}

export interface TallyHttpClient extends RecordSink {
  add(input: RecordInput): string;
  record(input: RecordInput): Promise<StoredRef>;
  recordMany(inputs: readonly RecordInput[]): Promise<StoredRef[]>;
  flush(): Promise<void>;
  /** Posts what is queued and refuses further records. */
  close(): Promise<void>;
  /** Records queued by add() and not yet acknowledged. */
  readonly pending: number;
  services(): Promise<ServiceDefinition[]>;
  report(args?: PeriodArgs & { service?: string; customerId?: string; detailed?: boolean }): Promise<UsageReport>;
  /** The event log: GET /v1/events (newest first; pass next_cursor back as cursor) and GET /v1/events/:id. */
  readonly events: {
    list(args?: EventListArgs): Promise<EventPage>;
    get(id: string): Promise<EventEntry>;
  };
}

export interface EventListArgs {
  readonly customer?: string;
  readonly service?: string;
  readonly user?: string;
  readonly from?: string;
  readonly to?: string;
  readonly limit?: number;
  readonly cursor?: string;
}

export type { EventEntry, EventPage };

interface EventsReply {
  readonly accepted: number;
  readonly duplicates: number;
  readonly ids: string[];
  readonly records: StoredRef[];
}

const RETRY_STATUS = new Set([429, 502, 503, 504]);
const CODE_OF_STATUS: Record<number, ErrorCode> = {
  400: 'invalid_input',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  413: 'invalid_input',
  429: 'queue_full',
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Whether an error may succeed when tried again unchanged (the agent busy or unreachable). */
export function isRetryable(err: TallyError): boolean {
  return err.code === 'queue_full' || err.code === 'unavailable' || err.code === 'locked';
}

export function createClient(options: ClientOptions): TallyHttpClient {
  const base = options.url.replace(/\/+$/, '');
  const batchSize = options.batchSize ?? 100;
  const flushIntervalMs = options.flushIntervalMs ?? 1000;
  const retries = options.retries ?? 5;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const baseMs = options.backoff?.baseMs ?? 100;
  const maxMs = options.backoff?.maxMs ?? 10_000;
  const maxQueue = options.maxQueue ?? 100_000;
  const doFetch = options.fetch ?? fetch;
  const newId = monotonicFactory();
  const authorization = `Bearer ${options.token}`;

  let queue: RecordInput[] = [];
  let timer: NodeJS.Timeout | null = null;
  let sending: Promise<void> | null = null;
  let failures: TallyError[] = [];
  let closed = false;

  /** An id (idempotent retries) and a time (the usage happened now, not when the batch is posted). */
  function prepare(input: RecordInput): RecordInput {
    if (typeof input !== 'object' || input === null) return input;
    const out: Record<string, unknown> = { ...input };
    if (out.id === undefined || out.id === null) out.id = newId();
    if (out.recordedAt === undefined || out.recordedAt === null) out.recordedAt = Date.now();
    if (out.customerId === undefined && options.defaults?.customerId !== undefined) out.customerId = options.defaults.customerId;
    if (out.source === undefined && options.defaults?.source !== undefined) out.source = options.defaults.source;
    // JSON has no bigint (byteSeconds past 2^53): a decimal string, which the API reads exactly.
    if (typeof out.quantity === 'bigint') out.quantity = out.quantity.toString();
    return out as unknown as RecordInput;
  }

  function errorFrom(status: number, body: unknown, retryAfterMs: number | undefined): TallyError {
    const error = (body as { error?: Partial<ApiError> } | null)?.error;
    const code =
      (typeof error?.code === 'string' ? error.code : undefined) ??
      CODE_OF_STATUS[status] ??
      (status >= 500 ? 'unavailable' : 'invalid_input');
    const message = typeof error?.message === 'string' ? error.message : `the agent answered HTTP ${status}`;
    return new TallyError(code as ErrorCode, message, { field: error?.field, retryAfterMs });
  }

  /** One request with retries. Network errors and timeouts are retried like 503. */
  async function request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    if (text !== undefined && options.maxBodyBytes !== undefined && Buffer.byteLength(text) > options.maxBodyBytes) {
      const n = Array.isArray(body) ? `${body.length} records are` : 'the record is';
      throw new TallyError(
        'invalid_input',
        `records: ${n} ${(Buffer.byteLength(text) / 2 ** 20).toFixed(1)} MiB as JSON, over the agent's body limit of ${(options.maxBodyBytes / 2 ** 20).toFixed(1)} MiB (http.bodyLimitBytes): send them in smaller parts`,
        { field: 'records' },
      );
    }
    for (let attempt = 0; ; attempt++) {
      let error: TallyError;
      let retryAfterMs = 0;
      try {
        const res = await doFetch(base + path, {
          method,
          headers: text === undefined ? { authorization } : { authorization, 'content-type': 'application/json' },
          body: text,
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (res.ok) return (await res.json()) as T;
        const header = Number(res.headers.get('retry-after'));
        retryAfterMs = Number.isFinite(header) && header > 0 ? header * 1000 : 0;
        const payload: unknown = await res.json().catch(() => null);
        error = errorFrom(res.status, payload, retryAfterMs || undefined);
        if (!RETRY_STATUS.has(res.status)) throw error;
      } catch (err) {
        if (err instanceof TallyError) throw err;
        const reason =
          (err as Error).name === 'TimeoutError'
            ? `no answer within ${timeoutMs} ms`
            : (((err as Error).cause as Error | undefined)?.message ?? (err as Error).message);
        error = new TallyError('unavailable', `cannot reach the agent at ${base}: ${reason}`, { cause: err });
      }
      if (attempt >= retries) throw error;
      // Full jitter spreads retrying clients out; Retry-After is a floor, not a target.
      await sleep(backoffDelay(attempt, { baseMs, maxMs }, Math.random, retryAfterMs));
    }
  }

  async function post(inputs: readonly RecordInput[], single: boolean): Promise<StoredRef[]> {
    const reply = await request<EventsReply>('POST', '/v1/events', single ? inputs[0] : inputs);
    return reply.records;
  }

  function report(error: TallyError, records: readonly RecordInput[]): void {
    failures.push(error);
    try {
      options.onError?.(error, records);
    } catch {
      // A failing error callback must not stop the queue.
    }
  }

  /** Posts one batch; a refused record is taken out (and reported) and the rest posted again. */
  async function sendBatch(batch: RecordInput[]): Promise<void> {
    while (batch.length > 0) {
      try {
        await post(batch, false);
        return;
      } catch (err) {
        const e = toTallyError(err);
        if (isRetryable(e)) {
          queue = batch.concat(queue); // keep them: tried again by the next flush
          throw e;
        }
        const bad = e.code === 'invalid_input' && e.field !== undefined ? /^events\[(\d+)\]/.exec(e.field) : null;
        if (bad && Number(bad[1]) < batch.length) {
          const index = Number(bad[1]);
          const [record] = batch.splice(index, 1);
          report(
            // The field stays as the server named it; the message names the record by its id.
            new TallyError(
              'invalid_input',
              `record ${(record as { id?: string }).id ?? index}${e.field!.slice(bad[0].length)}: ${e.problem ?? e.message}`,
              {
                field: e.field,
                problem: e.problem,
                cause: e,
              },
            ),
            [record!],
          );
          continue;
        }
        report(e, batch); // the whole batch cannot succeed (wrong token, too large)
        return;
      }
    }
  }

  function drain(): Promise<void> {
    sending ??= (async () => {
      try {
        while (queue.length > 0) await sendBatch(queue.splice(0, batchSize));
      } finally {
        sending = null;
      }
    })();
    return sending;
  }

  function arm(delayMs: number, keepAlive: boolean): void {
    if (timer !== null || queue.length === 0) return;
    timer = setTimeout(() => {
      timer = null;
      drain().catch(() => arm(flushIntervalMs, false));
    }, delayMs);
    // A background retry while the agent is down must not keep the program alive forever.
    if (!keepAlive) timer.unref();
  }

  function throwFailures(): void {
    if (failures.length === 0) return;
    const [first] = failures;
    const n = failures.length;
    failures = [];
    if (n === 1) throw first!;
    throw new TallyError(first!.code, `${n} batches or records were refused; the first: ${first!.message}`, {
      field: first!.field,
      cause: first,
    });
  }

  return {
    get pending() {
      return queue.length;
    },

    add(input) {
      if (closed) throw new TallyError('unavailable', 'the client is closed');
      if (queue.length >= maxQueue) {
        throw new TallyError('queue_full', `${queue.length} records are waiting to be sent to the agent; retry shortly`, {
          retryAfterMs: flushIntervalMs,
        });
      }
      const rec = prepare(input);
      queue.push(rec);
      if (queue.length >= batchSize) drain().catch(() => arm(flushIntervalMs, false));
      else arm(flushIntervalMs, true);
      return (rec as { id: string }).id;
    },

    async record(input) {
      if (closed) throw new TallyError('unavailable', 'the client is closed');
      return (await post([prepare(input)], true))[0]!;
    },

    async recordMany(inputs) {
      if (closed) throw new TallyError('unavailable', 'the client is closed');
      if (!Array.isArray(inputs)) throw new TallyError('invalid_input', 'records: must be an array', { field: 'records' });
      if (inputs.length === 0) return [];
      return post(inputs.map(prepare), false);
    },

    async flush() {
      if (timer) clearTimeout(timer);
      timer = null;
      await drain();
      throwFailures();
    },

    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await drain();
      throwFailures();
    },

    services: () => request<ServiceDefinition[]>('GET', '/v1/services'),

    report(args = {}) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(args)) {
        if (v === undefined) continue;
        q.set(k === 'customerId' ? 'customer' : k, String(v));
      }
      const qs = q.toString();
      return request<UsageReport>('GET', `/v1/report${qs ? `?${qs}` : ''}`);
    },

    events: {
      list(args = {}) {
        const q = new URLSearchParams();
        for (const [k, v] of Object.entries(args)) if (v !== undefined) q.set(k, String(v));
        const qs = q.toString();
        return request<EventPage>('GET', `/v1/events${qs ? `?${qs}` : ''}`);
      },
      get: (id) => request<EventEntry>('GET', `/v1/events/${encodeURIComponent(id)}`),
    },
  };
}
