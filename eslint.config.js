// @ts-check
import tseslint from 'typescript-eslint';

/** Imports a folder may not make: the arrows of the architecture point inward (docs/architecture.md). */
const restrict = (files, patterns) => ({ files, rules: { 'no-restricted-imports': ['error', { patterns }] } });
const FACES = ['**/cli/**', '**/server/**', '**/main/**', '**/renderer/**', '**/preload/**'];
const nodeIo = ['node:*', 'fs', 'path', 'os', 'http', 'https', 'net', 'child_process'];

export default tseslint.config(
  { ignores: ['dist/', 'out/', 'release/', 'node_modules/', 'docs/', 'coverage/', 'clients/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    // Type-aware rules: a promise nobody awaits loses its error; one passed where a callback's
    // result is ignored runs unchecked.
    files: ['src/**/*.ts', 'src/**/*.tsx', 'test/**/*.ts', 'bench/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
    },
  },
  // The core is pure: no Electron, no HTTP, no node I/O, and it knows nothing of its callers
  // (type imports of report shapes excepted).
  restrict(
    ['src/core/**/*.ts'],
    [
      { group: nodeIo, message: 'src/core is pure: no node I/O' },
      { group: ['electron', 'fastify', 'better-sqlite3', 'kysely'], message: 'src/core knows nothing of its callers' },
      {
        group: ['**/storage/**', '**/handlers/**', '**/agent/**', '**/collectors/**', '**/collector/**', '**/client/**', ...FACES],
        message: 'src/core knows nothing of its callers',
      },
      {
        group: ['**/analytics/**', '**/quotas/**', '**/exports/**'],
        allowTypeImports: true,
        message: 'src/core may name report shapes as types only',
      },
    ],
  ),
  // Storage knows SQL and the domain, not who calls it.
  restrict(['src/storage/**/*.ts'], [{ group: ['**/handlers/**', '**/agent/**', ...FACES], message: 'storage does not know its callers' }]),
  // The service layer is face-independent.
  restrict(['src/handlers/**/*.ts'], [{ group: FACES, message: 'handlers serve every face and import none' }]),
  // Faces never import each other.
  restrict(
    ['src/cli/**/*.ts'],
    [{ group: ['**/server/**', '**/main/**', '**/renderer/**', '**/preload/**'], message: 'faces never import each other' }],
  ),
  restrict(
    ['src/server/**/*.ts'],
    [{ group: ['**/cli/**', '**/main/**', '**/renderer/**', '**/preload/**'], message: 'faces never import each other' }],
  ),
  // Electron's main process reaches the agent through the client (agent-host.ts is the agent's own process).
  {
    ...restrict(
      ['src/main/**/*.ts'],
      [
        {
          group: ['**/cli/**', '**/server/**', '**/handlers/**', '**/analytics/**', '**/storage/**', '**/renderer/**'],
          message: 'main reaches the agent only through the client',
        },
      ],
    ),
    ignores: ['src/main/agent-host.ts'],
  },
  restrict(
    ['src/renderer/**/*.ts', 'src/renderer/**/*.tsx'],
    [
      {
        group: ['**/storage/**', '**/handlers/**', '**/server/**', '**/cli/**', '**/main/**'],
        message: 'the renderer talks to the typed client only',
      },
    ],
  ),
);
