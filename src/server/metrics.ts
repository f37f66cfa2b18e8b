// A small Prometheus registry: counters and histograms kept in memory, plus metrics read at
// scrape time (the writer's counters, the queue depth). The agent creates one and hands it to
// the HTTP server; collectors register their own (tally_collector_errors_total{collector}).
// Text exposition format 0.0.4: https://prometheus.io/docs/instrumenting/exposition_formats/

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  readonly labels?: Labels;
  readonly value: number;
  /** Appended to the metric name: `_bucket`, `_sum`, `_count`. */
  readonly suffix?: string;
}

export interface MetricDefinition {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  /** Called at every scrape. */
  readonly collect: () => readonly Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  return keys
    .sort()
    .map((k) => `${k}="${escapeLabel(labels[k]!)}"`)
    .join(',');
}

export class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(private readonly labelNames: readonly string[]) {}

  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) throw new RangeError('a counter only goes up');
    for (const k of Object.keys(labels)) if (!this.labelNames.includes(k)) throw new RangeError(`unknown label "${k}"`);
    const key = labelKey(labels);
    const entry = this.values.get(key);
    if (entry) entry.value += by;
    else this.values.set(key, { labels: { ...labels }, value: by });
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels))?.value ?? 0;
  }

  samples(): Sample[] {
    return [...this.values.values()].map((e) => ({ labels: e.labels, value: e.value }));
  }
}

export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(private readonly buckets: readonly number[]) {
    this.counts = buckets.map(() => 0);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) this.counts[i]!++;
  }

  samples(): Sample[] {
    return [
      ...this.buckets.map((le, i) => ({ suffix: '_bucket', labels: { le: String(le) }, value: this.counts[i]! })),
      { suffix: '_bucket', labels: { le: '+Inf' }, value: this.count },
      { suffix: '_sum', value: this.sum },
      { suffix: '_count', value: this.count },
    ];
  }
}

export class Metrics {
  private readonly metrics = new Map<string, MetricDefinition>();

  /** Adds (or replaces, by name) a metric read at every scrape. */
  registerMetric(def: MetricDefinition): void {
    if (!NAME.test(def.name)) throw new RangeError(`metric name "${def.name}" is not a Prometheus name`);
    this.metrics.set(def.name, def);
  }

  has(name: string): boolean {
    return this.metrics.has(name);
  }

  /** A counter kept here; asking again for the same name returns the same counter. */
  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    const existing = this.metrics.get(name) as (MetricDefinition & { instance?: unknown }) | undefined;
    if (existing?.instance instanceof Counter) return existing.instance;
    for (const l of labelNames) if (!LABEL.test(l)) throw new RangeError(`label name "${l}" is not a Prometheus label`);
    const counter = new Counter(labelNames);
    this.registerMetric({ name, help, type: 'counter', collect: () => counter.samples(), instance: counter } as MetricDefinition);
    return counter;
  }

  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    const existing = this.metrics.get(name) as (MetricDefinition & { instance?: unknown }) | undefined;
    if (existing?.instance instanceof Histogram) return existing.instance;
    const histogram = new Histogram([...buckets].sort((a, b) => a - b));
    this.registerMetric({ name, help, type: 'histogram', collect: () => histogram.samples(), instance: histogram } as MetricDefinition);
    return histogram;
  }

  /** A value read at scrape time. */
  gauge(name: string, help: string, read: () => number): void {
    this.registerMetric({ name, help, type: 'gauge', collect: () => [{ value: read() }] });
  }

  /** The Prometheus text format. A metric whose collect throws is skipped, not fatal to the scrape. */
  render(): string {
    const out: string[] = [];
    for (const m of this.metrics.values()) {
      let samples: readonly Sample[];
      try {
        samples = m.collect();
      } catch {
        continue;
      }
      out.push(`# HELP ${m.name} ${m.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${m.name} ${m.type}`);
      for (const s of samples) {
        const labels = s.labels ? labelKey(s.labels) : '';
        out.push(`${m.name}${s.suffix ?? ''}${labels ? `{${labels}}` : ''} ${formatValue(s.value)}`);
      }
    }
    return out.join('\n') + '\n';
  }
}
