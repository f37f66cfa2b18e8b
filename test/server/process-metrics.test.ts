// The default process metrics under the names every Node.js exporter uses.
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/server/metrics';
import { registerProcessMetrics } from '../../src/server/process-metrics';

describe('process metrics', () => {
  it('exposes CPU, memory, start time, heap and event-loop lag as prom-client names them', () => {
    const m = new Metrics();
    const stop = registerProcessMetrics(m);
    const text = m.render();
    stop();
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'process_start_time_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(text).toMatch(new RegExp(`^${name} \\d`, 'm'));
    }
    expect(text).toContain('# TYPE process_cpu_seconds_total counter\n');
    expect(Number(/^process_resident_memory_bytes (\d+)$/m.exec(text)?.[1])).toBeGreaterThan(10_000_000);
    expect(text).toMatch(/^nodejs_version_info\{version="v\d+\.\d+\.\d+"\} 1$/m);
  });
});
