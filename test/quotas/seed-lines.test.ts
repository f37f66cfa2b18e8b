// The first seed's alert output and alert log format, literally (docs: "Usage Alerts").
import { describe, expect, it } from 'vitest';
import { alertMessage, formatAlertLine, type Alert } from '../../src/quotas/alerts';
import { BUILTIN_SERVICES } from '../../src/core/services';

const def = (name: string) => BUILTIN_SERVICES.find((s) => s.name === name)!;
const GiB = 2 ** 30;

function alert(level: Alert['level'], service: string, usage: number, limit: number, percent: number): Alert {
  return {
    id: 1,
    customerId: 'default',
    service,
    period: 'month',
    periodStart: '2026-01-01T00:00:00.000Z',
    level,
    percent,
    usage,
    limit,
    unit: def(service).displayUnit,
    message: '',
    createdAt: '2026-01-30T14:23:45.000Z',
  };
}

describe("the seed's alert lines", () => {
  it('prints WARNING, CRITICAL and QUOTA EXCEEDED as the seed does', () => {
    expect(alertMessage('warning', 'api', def('api'), 78, 78_000, 100_000)).toBe('WARNING: api usage at 78% - 78000/100000');
    expect(alertMessage('exceeded', 'bandwidth', def('bandwidth'), 105, 105 * GiB, 100 * GiB)).toBe(
      'QUOTA EXCEEDED: bandwidth - 105GB/100GB (105%)',
    );
  });

  it('truncates the percentage, so 77.99 % reads 77 % and a quota is never shown full before it is', () => {
    expect(alertMessage('warning', 'api', def('api'), 77.99, 77_990, 100_000)).toBe('WARNING: api usage at 77% - 77990/100000');
  });

  it('writes the alert log line as the seed shows it', () => {
    expect(formatAlertLine(alert('warning', 'api', 78_000, 100_000, 78))).toBe(
      '[2026-01-30 14:23:45] warning ALERT for api: 78000/100000 (78%)',
    );
    expect(formatAlertLine(alert('critical', 'storage', 9.2, 10, 92))).toBe(
      '[2026-01-30 14:23:45] critical ALERT for storage: 9.2/10 (92%)',
    );
    expect(formatAlertLine(alert('exceeded', 'bandwidth', 105, 100, 105))).toBe(
      '[2026-01-30 14:23:45] exceeded ALERT for bandwidth: 105/100 (105%)',
    );
  });
});
