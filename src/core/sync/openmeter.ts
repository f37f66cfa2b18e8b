// OpenMeter: usage events as a CloudEvents 1.0 batch (structured JSON, one array):
// POST {url}/api/v1/events, Content-Type application/cloudevents-batch+json, answered 204.
// id = the record's global id (OpenMeter deduplicates on id + source), source = host id,
// type = service (the meter's event type), subject = customer, data = quantity and metadata.
import { formatNanos } from '../money';
import { toIso } from '../time';
import { classifyCommon, joinUrl, jsonHeaders, malformed, metadataOf, snippet } from './classify';
import type { Adapter, HttpResponse, Outcome, SyncRecord, TargetSpec } from './types';

export function cloudEvent(r: SyncRecord, spec: TargetSpec): Record<string, unknown> {
  const data: Record<string, unknown> = { ...metadataOf(r.metadata), quantity: r.quantity, cost: formatNanos(r.costNanos) };
  if (r.userId !== null) data.user_id = r.userId;
  return {
    specversion: '1.0',
    id: r.id,
    source: r.hostId,
    type: spec.options.eventNames?.[r.service] ?? r.service,
    subject: r.customerId,
    time: toIso(r.recordedAt),
    datacontenttype: 'application/json',
    data,
  };
}

export function openMeterAdapter(spec: TargetSpec, now: () => number): Adapter {
  return {
    kind: 'openmeter',
    maxBatch: 1000,
    dedupWindowMs: null,
    timestampWindowMs: null,
    precheck: () => null,
    request(records) {
      const headers = jsonHeaders(spec.token, 'application/cloudevents-batch+json', 'application/json, application/problem+json');
      return {
        method: 'POST',
        url: joinUrl(spec.url, '/api/v1/events'),
        headers,
        body: JSON.stringify(records.map((r) => cloudEvent(r, spec))),
      };
    },
    classify(res: HttpResponse): Outcome {
      const common = classifyCommon(res, now(), 'OpenMeter');
      if (common) return common;
      if (res.status === 204 || res.status === 200 || res.status === 202) {
        // 204 has no body; anything else in its place means a proxy or endpoint we do not understand.
        if (res.status === 204 && res.body.trim() !== '') return malformed('OpenMeter', 'a 204 with a body');
        return { kind: 'delivered', rejected: [] };
      }
      if (res.status >= 200 && res.status < 300) return malformed('OpenMeter', `unexpected status ${res.status}`);
      // 400 (problem+json): the batch as a whole is refused; the worker splits to find the bad event.
      return { kind: 'split', reason: `OpenMeter refused the events (HTTP ${res.status}): ${problemDetail(res.body)}` };
    },
  };
}

function problemDetail(body: string): string {
  try {
    const p = JSON.parse(body) as { title?: unknown; detail?: unknown };
    const parts = [p.title, p.detail].filter((x): x is string => typeof x === 'string');
    if (parts.length) return parts.join(': ');
  } catch {
    // not JSON: show the text
  }
  return snippet(body) || 'no detail';
}
