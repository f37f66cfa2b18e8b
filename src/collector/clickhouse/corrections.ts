// Voids and amends in the ClickHouse store (the PostgreSQL store's are in ../corrections.ts, with
// the same outcomes). ClickHouse 18.16 has no row updates that fit here (ALTER … UPDATE rewrites
// parts, asynchronously), so a correction inserts: a new revision of the event (voided, or with
// the agent's re-priced cost; same sorting key, so ReplacingMergeTree keeps the latest and the
// raw reads take the highest revision), and the difference into the rollups (SummingMergeTree
// adds it; the view folds only first revisions, so a revision is never counted as an event).
// Run one host at a time with that host's batches (store.ts), so a re-sent correction finds the
// first one applied: applying twice changes nothing.
import { Readable } from 'node:stream';
import { TallyError } from '../../core/errors';
import { dayStart, hourStart, monthStart, weekStart } from '../../core/time';
import type { CollectorCorrection, CorrectionsReply } from '../corrections';
import { selectWithSet, type ChConnection } from './connection';
import { tsv } from './insert';
import type { ExportRow } from './reads';

interface EventRow extends ExportRow {
  revision: number;
  voided_at: string | null;
}

const COLUMNS =
  'id, recorded_at, customer_id, user_id, host_id, service, quantity, unit_price, cost_nanos, metadata, source, received_at, revision, voided_at, voided_by, void_reason';
const PERIODS = [
  ['hour', hourStart],
  ['day', dayStart],
  ['week', weekStart],
  ['month', monthStart],
] as const;

/** The latest revision of each of `ids` that ClickHouse holds. */
async function latest(c: ChConnection, ids: readonly string[]): Promise<Map<string, EventRow>> {
  if (ids.length === 0) return new Map();
  const found = await selectWithSet<EventRow>(
    c,
    `SELECT id, recorded_at, customer_id, user_id, host_id, service, toString(quantity) AS quantity, unit_price,
       toString(cost_nanos) AS cost_nanos, metadata, source, revision, voided_at
     FROM ${c.tables.events} WHERE id IN correction_ids ORDER BY id, revision DESC LIMIT 1 BY id`,
    'correction_ids',
    ids,
  );
  return new Map(found.map((r) => [r.id, r]));
}

const field = (v: string | number | null) => (v === null ? '\\N' : tsv(String(v)));

function revisionLine(r: EventRow, patch: { cost?: string; void?: { at: number; by: string; reason: string } }, now: number): string {
  const v = patch.void;
  return (
    [
      r.id,
      r.recorded_at,
      r.customer_id,
      r.user_id,
      r.host_id,
      r.service,
      r.quantity,
      r.unit_price,
      patch.cost ?? r.cost_nanos,
      r.metadata,
      r.source,
      now,
      r.revision + 1,
      v ? v.at : null,
      v ? v.by : null,
      v ? v.reason : null,
    ]
      .map(field)
      .join('\t') + '\n'
  );
}

/** The four periods' differences for one event: events, quantity (decimal text), cost. */
function rollupLines(r: EventRow, events: number, quantity: string, cost: bigint): string {
  const at = Number(r.recorded_at);
  return PERIODS.map(
    ([period, start]) => [period, start(at), r.customer_id, r.service, events, quantity, cost.toString()].join('\t') + '\n',
  ).join('');
}

async function insert(c: ChConnection, table: string, columns: string, text: string): Promise<void> {
  if (text === '') return;
  const result = await c.entry.exec({
    query: `INSERT INTO ${table} (${columns}) FORMAT TabSeparated`,
    values: Readable.from([text]),
    ...(c.target.cluster ? { clickhouse_settings: { insert_distributed_sync: 1 } as never } : {}),
  });
  result.stream.resume();
}

async function applyOne(c: ChConnection, hostId: string, k: CollectorCorrection, now: number): Promise<keyof CorrectionsReply> {
  const rows = await latest(c, [k.id, ...k.costs.map((x) => x.id)]);
  const r = rows.get(k.id);
  if (!r) return 'missing';
  if (r.host_id !== hostId) throw new TallyError('forbidden', `id: event ${k.id} belongs to another host`, { field: 'id' });
  if (r.voided_at !== null) return 'already';
  let events = revisionLine(r, { void: { at: k.at, by: k.by, reason: k.reason } }, now);
  let rollups = rollupLines(r, -1, `-${r.quantity}`, -BigInt(r.cost_nanos));
  for (const x of k.costs) {
    const later = rows.get(x.id);
    if (!later || later.host_id !== hostId || later.voided_at !== null || BigInt(later.cost_nanos) === BigInt(x.costNanos)) continue;
    events += revisionLine(later, { cost: String(x.costNanos) }, now);
    rollups += rollupLines(later, 0, '0', BigInt(x.costNanos) - BigInt(later.cost_nanos));
  }
  // No transaction spans the two inserts. Events first: should the second fail, a re-sent
  // correction finds the event voided ("already") and the rollups miss this one difference (raw
  // reads do not); the other order would apply the difference twice on a re-send.
  await insert(c, c.tables.events, COLUMNS, events);
  await insert(c, c.tables.rollups, 'period, bucket_start, customer_id, service, event_count, sum_quantity, sum_cost_nanos', rollups);
  return 'applied';
}

export async function applyClickHouseCorrections(
  c: ChConnection,
  hostId: string,
  list: readonly CollectorCorrection[],
  now: number,
): Promise<CorrectionsReply> {
  const reply = { applied: 0, already: 0, missing: 0 };
  for (const k of list) reply[await applyOne(c, hostId, k, now)]++;
  return reply;
}
