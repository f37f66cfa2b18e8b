// The Prometheus text the agent serves: names, label escaping, histogram buckets.
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/server/metrics';

describe('Metrics', () => {
  it('renders counters, gauges and histograms in the text format', () => {
    const m = new Metrics();
    const errors = m.counter('tally_collector_errors_total', 'Collector runs that failed.', ['collector']);
    errors.inc({ collector: 'storage' });
    errors.inc({ collector: 'storage' }, 2);
    errors.inc({ collector: 'say "hi"\\\n' });
    expect(m.counter('tally_collector_errors_total', 'again', ['collector'])).toBe(errors);
    m.gauge('tally_writer_queue_depth', 'Records waiting.', () => 7);
    const h = m.histogram('tally_flush_duration_seconds', 'Commit time.', [0.01, 0.1]);
    h.observe(0.005);
    h.observe(0.05);
    h.observe(3);
    const text = m.render();
    expect(text).toContain('# TYPE tally_collector_errors_total counter\n');
    expect(text).toContain('tally_collector_errors_total{collector="storage"} 3\n');
    expect(text).toContain('tally_collector_errors_total{collector="say \\"hi\\"\\\\\\n"} 1\n');
    expect(text).toContain('tally_writer_queue_depth 7\n');
    expect(text).toContain('tally_flush_duration_seconds_bucket{le="0.01"} 1\n');
    expect(text).toContain('tally_flush_duration_seconds_bucket{le="0.1"} 2\n');
    expect(text).toContain('tally_flush_duration_seconds_bucket{le="+Inf"} 3\n');
    expect(text).toContain('tally_flush_duration_seconds_sum 3.055\n');
    expect(text).toContain('tally_flush_duration_seconds_count 3\n');
  });

  it('refuses bad names and unknown labels, and skips a metric whose reader throws', () => {
    const m = new Metrics();
    expect(() => m.counter('bad name', 'x')).toThrow(/Prometheus name/);
    expect(() => m.counter('c_total', 'x', ['kind']).inc({ other: 'y' })).toThrow(/unknown label/);
    m.registerMetric({
      name: 'broken',
      help: 'x',
      type: 'gauge',
      collect: () => {
        throw new Error('no');
      },
    });
    m.gauge('fine', 'x', () => 1);
    expect(m.render()).toContain('fine 1\n');
    expect(m.render()).not.toContain('broken');
  });
});
