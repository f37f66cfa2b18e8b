// Registering a custom service again: the same definition is a no-op, another one is refused
// with the difference (nothing changed), and `update` changes it.
import { describe, expect, it } from 'vitest';
import { TallyError } from '../../src/core/errors';
import type { ServiceDefinition } from '../../src/core/services';
import { getService, upsertService } from '../../src/storage/repos/services';
import { testDb } from '../helpers/db';

const transcode: ServiceDefinition = {
  name: 'transcode',
  displayName: 'Transcode',
  baseUnit: 'minutes',
  displayUnit: 'minutes',
  displayFactor: 1,
  integerOnly: false,
  requiredFields: ['codec', 'resolution'],
  breakdownKeys: ['codec'],
  builtin: false,
};

describe('re-registering a custom service', () => {
  it('refuses a different definition with the difference, unless asked to update', async () => {
    const tdb = await testDb();
    await upsertService(tdb.db, transcode, 0);
    await upsertService(tdb.db, transcode, 1); // same definition: fine
    const dropped = { ...transcode, requiredFields: [], integerOnly: true };
    const err = await upsertService(tdb.db, dropped, 2, 'service.').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TallyError);
    expect((err as TallyError).code).toBe('conflict');
    expect((err as TallyError).field).toBe('service.name');
    expect((err as TallyError).message).toContain('requiredFields: ["codec","resolution"] → []');
    expect((err as TallyError).message).toContain('integerOnly: false → true');
    expect((await getService(tdb.db, 'transcode'))?.requiredFields).toEqual(['codec', 'resolution']);
    await upsertService(tdb.db, dropped, 3, '', { update: true });
    expect((await getService(tdb.db, 'transcode'))?.requiredFields).toEqual([]);
    await tdb.close();
  });
});
