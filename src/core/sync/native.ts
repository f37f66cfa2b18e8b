// Tally native: JSON batches to a Tally collector. POST {url}/v1/records {records: [...]} with
// the agent's token; the collector answers 200 {inserted, duplicates, rejected: [{index, reason}]}
// (a duplicate is a record it already holds: delivered) and 403 for records of another host.
import { classifyCommon, isObject, joinUrl, jsonHeaders, malformed, metadataOf, parseJson, snippet } from './classify';
import type { Adapter, HttpResponse, Outcome, Rejection, SyncRecord, TargetSpec } from './types';

export const NATIVE_MAX_BATCH = 20_000;

/** The wire form of one record (also what the collector validates). */
export interface NativeRecord {
  id: string;
  recordedAt: number;
  customerId: string;
  userId: string | null;
  hostId: string;
  service: string;
  quantity: number;
  unitPrice: string;
  costNanos: number;
  metadata: Record<string, unknown>;
  source: string;
}

export interface NativeReply {
  inserted: number;
  duplicates: number;
  rejected: Rejection[];
}

export function nativeRecord(r: SyncRecord): NativeRecord {
  return {
    id: r.id,
    recordedAt: r.recordedAt,
    customerId: r.customerId,
    userId: r.userId,
    hostId: r.hostId,
    service: r.service,
    quantity: r.quantity,
    unitPrice: r.unitPrice,
    costNanos: r.costNanos,
    metadata: metadataOf(r.metadata),
    source: r.source,
  };
}

/**
 * A record an outbox read for this contract (Outbox.wireBatch): `wire` is its JSON object in the
 * request, exactly as wireObject below writes it, built while reading (the agent's SQLite does it).
 */
export type WireRecord = SyncRecord & { readonly wire?: string };

/** One record's JSON object in the request; metadata is already JSON, so it is not parsed and re-encoded. */
export function wireObject(r: SyncRecord): string {
  return (
    `{"id":${JSON.stringify(r.id)},"recordedAt":${r.recordedAt},"customerId":${JSON.stringify(r.customerId)},"userId":${JSON.stringify(r.userId)},` +
    `"hostId":${JSON.stringify(r.hostId)},"service":${JSON.stringify(r.service)},"quantity":${r.quantityText ?? JSON.stringify(r.quantity)},"unitPrice":${JSON.stringify(r.unitPrice)},` +
    `"costNanos":${r.costNanos},"metadata":${r.metadata || '{}'},"source":${JSON.stringify(r.source)}}`
  );
}

// Batches read with their request objects already joined by commas (Outbox.wireBatch), frozen
// so that the text stays that of the records.
const JOINED = new WeakMap<readonly SyncRecord[], string>();

/** `records`, frozen, marked as the batch whose request objects joined by commas are `text`. */
export function withJoinedWire(records: SyncRecord[], text: string): SyncRecord[] {
  Object.freeze(records);
  JOINED.set(records, text);
  return records;
}

/** Builds the body as text directly: the joined text of a whole batch, else each record's `wire` when the outbox built it. */
function body(records: readonly WireRecord[]): string {
  const joined = JOINED.get(records);
  if (joined !== undefined) return '{"records":[' + joined + ']}';
  const parts = new Array<string>(records.length);
  for (let i = 0; i < records.length; i++) parts[i] = records[i]!.wire ?? wireObject(records[i]!);
  return '{"records":[' + parts.join(',') + ']}';
}

export function readNativeReply(value: unknown, sent: number): NativeReply | string {
  if (!isObject(value)) return 'expected a JSON object';
  const { inserted, duplicates, rejected } = value;
  if (!Number.isSafeInteger(inserted) || (inserted as number) < 0) return 'inserted: must be a whole number ≥ 0';
  if (!Number.isSafeInteger(duplicates) || (duplicates as number) < 0) return 'duplicates: must be a whole number ≥ 0';
  if (!Array.isArray(rejected)) return 'rejected: must be an array';
  const out: Rejection[] = [];
  for (const [i, r] of rejected.entries()) {
    if (
      !isObject(r) ||
      !Number.isSafeInteger(r.index) ||
      (r.index as number) < 0 ||
      (r.index as number) >= sent ||
      typeof r.reason !== 'string'
    ) {
      return `rejected[${i}]: must be {index (0…${sent - 1}), reason}`;
    }
    out.push({ index: r.index as number, reason: r.reason });
  }
  if ((inserted as number) + (duplicates as number) + out.length !== sent)
    return `inserted + duplicates + rejected = ${(inserted as number) + (duplicates as number) + out.length}, not the ${sent} sent`;
  return { inserted: inserted as number, duplicates: duplicates as number, rejected: out };
}

export function nativeAdapter(spec: TargetSpec, now: () => number): Adapter {
  return {
    kind: 'tally',
    maxBatch: NATIVE_MAX_BATCH,
    dedupWindowMs: null,
    timestampWindowMs: null,
    precheck: () => null,
    request(records) {
      return { method: 'POST', url: joinUrl(spec.url, '/v1/records'), headers: jsonHeaders(spec.token), body: body(records) };
    },
    classify(res: HttpResponse, records: readonly SyncRecord[]): Outcome {
      const common = classifyCommon(res, now(), 'the collector');
      if (common) return common;
      const parsed = parseJson(res.body);
      if (res.status >= 200 && res.status < 300) {
        if (!parsed.ok) return malformed('the collector', 'not JSON');
        const reply = readNativeReply(parsed.value, records.length);
        if (typeof reply === 'string') return malformed('the collector', reply);
        return { kind: 'delivered', rejected: reply.rejected };
      }
      const err = parsed.ok && isObject(parsed.value) && isObject(parsed.value.error) ? parsed.value.error : null;
      const message = err && typeof err.message === 'string' ? err.message : snippet(res.body);
      return { kind: 'split', reason: `the collector refused the batch (HTTP ${res.status}): ${message || 'no detail'}` };
    },
  };
}
