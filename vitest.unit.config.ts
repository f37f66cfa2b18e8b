// `npm run test:unit`: the fast loop — pure functions and single-process tests on real SQLite
// files and loopback servers in this process. No child processes, no browser, no PostgreSQL or
// ClickHouse, no built CLI. `npm test` runs everything.
// A spread, not mergeConfig: mergeConfig appends arrays, so the base's CLI build would still run.
import { defineConfig } from 'vitest/config';
import base from './vitest.config';

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    globalSetup: ['test/setup/temp-dir.ts'],
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    exclude: [
      'node_modules/**',
      'test/e2e/**',
      'test/cli/**',
      'test/agent/**',
      'test/collector/**',
      'test/clients/**',
      'test/archive/archive.test.ts',
      'test/client/cli-through-agent.test.ts',
      'test/client/package.test.ts',
      'test/collectors/bandwidth-veth.test.ts',
      'test/core/time.test.ts',
      'test/exports/statement-pdf.test.ts',
      'test/main/build-output.test.ts',
      'test/server/events-pagination.test.ts',
      'test/storage/crash.test.ts',
      'test/storage/full-disk.test.ts',
      'test/storage/lock.test.ts',
      'test/storage/corruption.test.ts',
      'test/sync/fault.test.ts',
    ],
  },
});
