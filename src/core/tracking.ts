// The tracking surface: the seeds' per-service functions over any sink that stores records —
// the batched writer in-process, or the agent over HTTP (src/client). Quantities are
// converted to base units here, once, so callers speak in the units they think in.
import type { RecordInput } from './records';

export interface StoredRef {
  readonly id: string;
  readonly inserted: boolean;
  readonly costNanos: number;
}

/** Where records go. Implemented by BatchedWriter and by the HTTP client. */
export interface RecordSink {
  /** Fire-and-forget: queued, committed with the next batch. */
  add(input: RecordInput): string | void | Promise<string | void>;
  /** Resolves when the record is committed. */
  record(input: RecordInput): Promise<StoredRef>;
  /** All or nothing. */
  recordMany(inputs: readonly RecordInput[]): Promise<StoredRef[]>;
  flush(): Promise<void>;
}

export interface TrackOptions {
  readonly customerId?: string;
  readonly userId?: string;
  readonly recordedAt?: number | string | Date;
  readonly metadata?: Record<string, unknown>;
  readonly id?: string;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS' | string;

function input(service: string, quantity: number | bigint, metadata: Record<string, unknown>, o: TrackOptions): RecordInput {
  return {
    service,
    quantity,
    metadata: o.metadata ? { ...o.metadata, ...metadata } : metadata,
    customerId: o.customerId,
    userId: o.userId,
    recordedAt: o.recordedAt,
    id: o.id,
  };
}

/**
 * Byte-seconds of `bytes` held for `hours`. Past 2^53 (10 TB for a quarter hour) a double is not
 * exact: bytes × whole milliseconds in BigInt, rounded half up to a byte-second.
 */
export function byteSeconds(bytes: number, hours: number): number | bigint {
  const q = Math.round(bytes * hours * 3600);
  if (Number.isSafeInteger(q)) return q;
  return (BigInt(Math.round(bytes)) * BigInt(Math.round(hours * 3_600_000)) + 500n) / 1000n;
}

/** Builds record inputs for each service; shared by the tracker, the CLI and the demo generator. */
export const build = {
  api: (endpoint: string, method: HttpMethod, status: number, o: TrackOptions = {}): RecordInput =>
    input('api', 1, { endpoint, method: method.toUpperCase(), status }, o),
  /** `bytes` held for `hours`: byte-seconds, rounded to a whole byte-second. */
  storage: (bytes: number, hours: number, o: TrackOptions = {}): RecordInput =>
    input('storage', byteSeconds(bytes, hours), { bytes, hours }, o),
  bandwidth: (bytes: number, direction: 'ingress' | 'egress', o: TrackOptions = {}): RecordInput =>
    input('bandwidth', bytes, { bytes, direction }, o),
  /** CPU-seconds, kept to the microsecond. */
  compute: (cpuSeconds: number, o: TrackOptions = {}): RecordInput => input('compute', Math.round(cpuSeconds * 1e6) / 1e6, {}, o),
  database: (type: string, durationMs: number, o: TrackOptions = {}): RecordInput =>
    input('database', 1, { type: type.toUpperCase(), duration_ms: durationMs }, o),
  function: (name: string, durationMs: number, memoryMb: number, o: TrackOptions = {}): RecordInput =>
    input('functions', 1, { function: name, duration_ms: durationMs, memory_mb: memoryMb }, o),
  llm: (
    call: { model: string; provider: string; inputTokens: number; outputTokens: number; latencyMs?: number },
    o: TrackOptions = {},
  ): RecordInput[] => {
    const meta = { model: call.model, provider: call.provider, ...(call.latencyMs === undefined ? {} : { latency_ms: call.latencyMs }) };
    return [input('llm_input', call.inputTokens, meta, o), input('llm_output', call.outputTokens, meta, o)];
  },
  document: (pages: number, documentType: string, o: TrackOptions = {}): RecordInput =>
    input('document', pages, { document_type: documentType }, o),
  record: (service: string, quantity: number, metadata: Record<string, unknown> = {}, o: TrackOptions = {}): RecordInput =>
    input(service, quantity, metadata, o),
};

/** The seeds' tracking functions. Each resolves when its record is committed. */
export function createTracker(sink: RecordSink) {
  return {
    api: (endpoint: string, method: HttpMethod, status: number, o?: TrackOptions) => sink.record(build.api(endpoint, method, status, o)),
    storage: (bytes: number, hours: number, o?: TrackOptions) => sink.record(build.storage(bytes, hours, o)),
    bandwidth: (bytes: number, direction: 'ingress' | 'egress', o?: TrackOptions) => sink.record(build.bandwidth(bytes, direction, o)),
    compute: (cpuSeconds: number, o?: TrackOptions) => sink.record(build.compute(cpuSeconds, o)),
    database: (type: string, durationMs: number, o?: TrackOptions) => sink.record(build.database(type, durationMs, o)),
    function: (name: string, durationMs: number, memoryMb: number, o?: TrackOptions) =>
      sink.record(build.function(name, durationMs, memoryMb, o)),
    llm: (call: Parameters<typeof build.llm>[0], o?: TrackOptions) => sink.recordMany(build.llm(call, o)),
    document: (pages: number, documentType: string, o?: TrackOptions) => sink.record(build.document(pages, documentType, o)),
    record: (service: string, quantity: number, metadata?: Record<string, unknown>, o?: TrackOptions) =>
      sink.record(build.record(service, quantity, metadata, o)),
    /** Batch: queue without waiting (hot paths); `flush()` commits what is queued. */
    add: (service: string, quantity: number, metadata?: Record<string, unknown>, o?: TrackOptions) =>
      sink.add(build.record(service, quantity, metadata, o)),
    flush: () => sink.flush(),
    /** Bulk insert: all of them or, when one is bad, none. */
    bulk: (inputs: readonly RecordInput[]) => sink.recordMany(inputs),
  };
}

export type Tracker = ReturnType<typeof createTracker>;
