import { defineConfig } from 'vitest/config';
import { sqlText } from './scripts/sql-text-plugin';

export default defineConfig({
  plugins: [sqlText()],
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    environment: 'node',
    globalSetup: ['test/setup/build-cli.ts', 'test/setup/temp-dir.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: heavy integration files (crash test, servers, browser) would starve each other.
    maxWorkers: 2,
  },
});
