// @ts-check
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'out/', 'release/', 'node_modules/', 'docs/', 'coverage/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    // The core is pure: no Electron, no HTTP, no node I/O (DESIGN.md).
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'path', 'os', 'http', 'https', 'net', 'child_process'], message: 'src/core is pure: no node I/O' },
            {
              group: ['electron', 'fastify', 'better-sqlite3', '**/agent/**', '**/main/**', '**/renderer/**'],
              message: 'src/core knows nothing of its callers',
            },
          ],
        },
      ],
    },
  },
);
