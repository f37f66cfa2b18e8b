import { validate } from 'node-cron';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CRONS, isCronExpression } from '../../src/config/cron';
import { defaultScheduleConfig } from '../../src/agent/jobs/config';
import { DEFAULT_SCHEDULE } from '../../src/collectors/config';

describe('cron expressions', () => {
  it('every default schedule is listed as known good, and node-cron agrees it is valid', () => {
    const defaults = [DEFAULT_SCHEDULE, ...Object.values(defaultScheduleConfig()).map((j) => j.cron)];
    for (const cron of defaults) {
      expect(DEFAULT_CRONS.has(cron), cron).toBe(true);
      expect(validate(cron), cron).toBe(true);
    }
    for (const cron of DEFAULT_CRONS) expect(validate(cron), cron).toBe(true);
  });

  it('an expression a user wrote is checked by node-cron', () => {
    expect(isCronExpression('*/5 * * * *')).toBe(true);
    expect(isCronExpression('0 0 * * MON')).toBe(true);
    expect(isCronExpression('61 * * * *')).toBe(false);
    expect(isCronExpression('every minute')).toBe(false);
  });
});
