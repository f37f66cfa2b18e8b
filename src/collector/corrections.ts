// Corrections from agents: POST /v1/corrections {corrections: [{kind, id, newId, reason, by, at,
// costs}]} with the agent's token. The collector applies each with the agent's ids, in one
// PostgreSQL transaction: the record is kept and marked voided, its figures leave the four rollup
// periods, and the later records the agent re-priced take their new costs (rollups moved by the
// same differences). Applying a correction twice changes nothing; a record the collector never
// held has nothing to retract. An amend's replacement arrives as an ordinary record.
import { sql, type Kysely, type Transaction } from 'kysely';
import { invalid, TallyError } from '../core/errors';
import { dayStart, hourStart, monthStart, nextMonthStart, weekStart } from '../core/time';
import type { CollectorDatabase } from './schema';

export interface CollectorCorrection {
  readonly kind: 'void' | 'amend';
  readonly id: string;
  readonly newId: string | null;
  readonly reason: string;
  readonly by: string;
  readonly at: number;
  readonly costs: ReadonlyArray<{ readonly id: string; readonly costNanos: number }>;
}

export interface CorrectionsReply {
  readonly applied: number;
  /** Already voided here: nothing changed. */
  readonly already: number;
  /** Records this collector never held: nothing to retract. */
  readonly missing: number;
}

const MAX_CORRECTIONS = 100;
const MAX_COSTS = 100_000;

const str = (v: unknown, field: string, max = 200): string => {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw invalid(field, `must be a string of 1 to ${max} characters`);
  return v;
};
const int = (v: unknown, field: string): number => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw invalid(field, 'must be a whole number');
  return v;
};

/** Validates a request body; every failure names its field. */
export function readCorrections(body: unknown): CollectorCorrection[] {
  const list = (body as { corrections?: unknown } | null)?.corrections;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_CORRECTIONS) {
    throw invalid('corrections', `must be an array of 1 to ${MAX_CORRECTIONS} corrections`);
  }
  return list.map((c: unknown, i) => {
    const f = (k: string) => `corrections[${i}].${k}`;
    if (typeof c !== 'object' || c === null) throw invalid(`corrections[${i}]`, 'must be an object');
    const o = c as Record<string, unknown>;
    if (o.kind !== 'void' && o.kind !== 'amend') throw invalid(f('kind'), 'must be void or amend');
    const costs = o.costs ?? [];
    if (!Array.isArray(costs) || costs.length > MAX_COSTS) throw invalid(f('costs'), `must be an array of at most ${MAX_COSTS}`);
    return {
      kind: o.kind,
      id: str(o.id, f('id'), 128),
      newId: o.newId === null || o.newId === undefined ? null : str(o.newId, f('newId'), 128),
      reason: str(o.reason, f('reason'), 500),
      by: str(o.by, f('by')),
      at: int(o.at, f('at')),
      costs: costs.map((x: unknown, j) => {
        const e = (x ?? {}) as Record<string, unknown>;
        const costNanos = int(e.costNanos, `${f('costs')}[${j}].costNanos`);
        return { id: str(e.id, `${f('costs')}[${j}].id`, 128), costNanos };
      }),
    };
  });
}

const PERIODS: Array<[string, (ms: number) => number, (start: number) => number]> = [
  ['hour', hourStart, (s) => s + 3_600_000],
  ['day', dayStart, (s) => s + 86_400_000],
  ['week', weekStart, (s) => s + 7 * 86_400_000],
  ['month', monthStart, nextMonthStart],
];

/** Moves one record's figures in its four rollup rows; a row left empty is removed, min/max re-read. */
async function moveRollups(
  trx: Transaction<CollectorDatabase>,
  r: { recorded_at: number; customer_id: string; service: string },
  count: number,
  quantity: string,
  cost: number,
): Promise<void> {
  for (const [period, start, end] of PERIODS) {
    const b = start(Number(r.recorded_at));
    await sql`UPDATE rollups SET event_count = event_count + ${count}, sum_quantity = sum_quantity + ${quantity}::numeric,
        sum_cost_nanos = sum_cost_nanos + ${cost}
      WHERE period = ${period} AND bucket_start = ${b} AND customer_id = ${r.customer_id} AND service = ${r.service}`.execute(trx);
    if (count === 0) continue;
    await sql`DELETE FROM rollups WHERE period = ${period} AND bucket_start = ${b} AND customer_id = ${r.customer_id}
      AND service = ${r.service} AND event_count <= 0`.execute(trx);
    await sql`UPDATE rollups SET (min_quantity, max_quantity) = (
        SELECT min(quantity), max(quantity) FROM usage_records
        WHERE service = ${r.service} AND customer_id = ${r.customer_id} AND recorded_at >= ${b} AND recorded_at < ${end(b)} AND voided_at IS NULL)
      WHERE period = ${period} AND bucket_start = ${b} AND customer_id = ${r.customer_id} AND service = ${r.service}`.execute(trx);
  }
}

async function applyOne(trx: Transaction<CollectorDatabase>, hostId: string, c: CollectorCorrection): Promise<keyof CorrectionsReply> {
  const found = await sql<{
    recorded_at: number;
    customer_id: string;
    service: string;
    quantity: string;
    cost_nanos: number;
    host_id: string;
    voided_at: number | null;
  }>`
    SELECT recorded_at, customer_id, service, quantity::text AS quantity, cost_nanos, host_id, voided_at
    FROM usage_records WHERE id = ${c.id} FOR UPDATE`.execute(trx);
  const r = found.rows[0];
  if (!r) return 'missing';
  if (r.host_id !== hostId) throw new TallyError('forbidden', `id: event ${c.id} belongs to another host`, { field: 'id' });
  if (r.voided_at !== null) return 'already';
  await sql`UPDATE usage_records SET voided_at = ${c.at}, voided_by = ${c.by}, void_reason = ${c.reason} WHERE id = ${c.id}`.execute(trx);
  await moveRollups(trx, r, -1, `-${r.quantity}`, -Number(r.cost_nanos));
  for (const x of c.costs) {
    const later = await sql<{ recorded_at: number; customer_id: string; service: string; cost_nanos: number }>`
      UPDATE usage_records u SET cost_nanos = ${x.costNanos}
      FROM (SELECT id, cost_nanos AS old FROM usage_records WHERE id = ${x.id} AND host_id = ${hostId} AND voided_at IS NULL FOR UPDATE) o
      WHERE u.id = o.id AND o.old <> ${x.costNanos}
      RETURNING u.recorded_at, u.customer_id, u.service, o.old AS cost_nanos`.execute(trx);
    const row = later.rows[0];
    if (row) await moveRollups(trx, row, 0, '0', x.costNanos - Number(row.cost_nanos));
  }
  return 'applied';
}

/** Applies the corrections of the agent bound to `hostId`, each in its own transaction. */
export async function applyCorrections(
  db: Kysely<CollectorDatabase>,
  hostId: string,
  list: readonly CollectorCorrection[],
): Promise<CorrectionsReply> {
  const reply = { applied: 0, already: 0, missing: 0 };
  for (const c of list) {
    const outcome = await db.transaction().execute((trx) => applyOne(trx, hostId, c));
    reply[outcome]++;
  }
  return reply;
}
