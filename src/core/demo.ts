// Demo data: realistic usage for all six services over N days — a daily rhythm (busy
// afternoons, quiet nights), a weekly one (quiet weekends), steady growth, and a few spikes.
// Deterministic for a seed, so tests and screenshots see the same numbers every run.
import { build } from './tracking';
import type { RecordInput } from './records';
import { GIB } from './services';

/** Mulberry32: a small, fast, seedable PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface DemoOptions {
  readonly days: number;
  /** The demo ends at this hour (exclusive); default: the current hour. */
  readonly end: number;
  readonly seed?: number;
  readonly customerId?: string;
  /** Scales the per-request services (api, database, functions). */
  readonly scale?: number;
}

const ENDPOINTS = [
  ['/users', 'GET', 0.3],
  ['/users', 'POST', 0.05],
  ['/orders', 'GET', 0.25],
  ['/orders', 'POST', 0.1],
  ['/search', 'GET', 0.2],
  ['/auth/login', 'POST', 0.1],
] as const;
const QUERY_TYPES = [
  ['SELECT', 0.7],
  ['INSERT', 0.15],
  ['UPDATE', 0.1],
  ['DELETE', 0.05],
] as const;
const FUNCTIONS = [
  ['sendEmail', 128, 0.4],
  ['resizeImage', 512, 0.3],
  ['generateReport', 1024, 0.1],
  ['webhook', 128, 0.2],
] as const;

function pick<T extends readonly unknown[]>(items: readonly T[], r: number, weightIndex: number): T {
  let acc = 0;
  for (const item of items) {
    acc += item[weightIndex] as number;
    if (r < acc) return item;
  }
  return items[items.length - 1]!;
}

/** Yields the demo's records hour by hour, oldest first. */
export function* demoRecords(o: DemoOptions): Generator<RecordInput> {
  const rand = prng(o.seed ?? 42);
  const scale = o.scale ?? 1;
  const hours = Math.round(o.days * 24);
  const start = o.end - hours * 3_600_000;
  const customerId = o.customerId;
  // Spikes: a few hours where API traffic jumps 5-10×.
  const spikes = new Set<number>();
  for (let i = 0; i < Math.max(1, Math.round(o.days / 15)); i++) spikes.add(Math.floor(rand() * hours));

  for (let h = 0; h < hours; h++) {
    const hourAt = start + h * 3_600_000;
    const d = new Date(hourAt);
    const hourOfDay = d.getUTCHours();
    const weekday = d.getUTCDay();
    const daily = 0.35 + 0.65 * Math.max(0, Math.sin(((hourOfDay - 6) / 24) * 2 * Math.PI)); // peak mid-afternoon
    const weekly = weekday === 0 || weekday === 6 ? 0.45 : 1;
    const growth = 1 + 0.6 * (h / Math.max(1, hours)); // +60 % over the period
    const spike = spikes.has(h) ? 5 + rand() * 5 : 1;
    const load = daily * weekly * growth;
    const at = (frac: number) => hourAt + Math.floor(frac * 3_600_000);
    const opts = (frac: number) => ({ recordedAt: at(frac), customerId });

    const apiCount = Math.round(90 * load * spike * scale * (0.8 + 0.4 * rand()));
    for (let i = 0; i < apiCount; i++) {
      const [endpoint, method] = pick(ENDPOINTS, rand(), 2);
      const status = rand() < 0.03 ? 500 : rand() < 0.06 ? 404 : method === 'POST' ? 201 : 200;
      yield build.api(endpoint, method, status, opts(rand()));
    }
    const queries = Math.round(120 * load * scale * (0.8 + 0.4 * rand()));
    for (let i = 0; i < queries; i++) {
      const [type] = pick(QUERY_TYPES, rand(), 1);
      yield build.database(type, Math.round(2 + rand() * (type === 'SELECT' ? 60 : 25)), opts(rand()));
    }
    const invocations = Math.round(20 * load * scale * (0.7 + 0.6 * rand()));
    for (let i = 0; i < invocations; i++) {
      const [name, memory] = pick(FUNCTIONS, rand(), 2);
      yield build.function(name, Math.round(20 + rand() * (memory * 0.8)), memory, opts(rand()));
    }
    // Storage: two volumes sampled hourly, growing steadily.
    yield build.storage(Math.round((40 + 25 * (h / hours)) * GIB * (0.99 + 0.02 * rand())), 1, {
      ...opts(0.999),
      metadata: { path: '/var/lib/app', volume: 'data' },
    });
    yield build.storage(Math.round((8 + 4 * (h / hours)) * GIB), 1, {
      ...opts(0.999),
      metadata: { path: '/var/backups', volume: 'backup' },
    });
    // Bandwidth: per interface and direction, following the API load.
    for (const [iface, share] of [
      ['eth0', 0.85],
      ['wlan0', 0.15],
    ] as const) {
      const egress = Math.round(load * spike * share * 180 * 1024 * 1024 * (0.8 + 0.4 * rand()));
      const ingress = Math.round(egress * (0.25 + 0.1 * rand()));
      yield build.bandwidth(egress, 'egress', { ...opts(0.999), metadata: { interface: iface } });
      yield build.bandwidth(ingress, 'ingress', { ...opts(0.999), metadata: { interface: iface } });
    }
    // Compute: CPU-seconds per instance per hour.
    for (const [instance, cores] of [
      ['web-1', 2],
      ['web-2', 2],
      ['worker-1', 4],
    ] as const) {
      const util = Math.min(1, 0.05 + 0.5 * load * (0.8 + 0.4 * rand()));
      yield build.compute(cores * 3600 * util * 0.5, { ...opts(0.999), metadata: { instance } });
    }
  }
}
