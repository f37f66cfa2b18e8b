// Three builds: the Electron main process (thin; it bundles the agent code its utility process
// runs), the sandboxed preload (CommonJS: a sandboxed preload cannot load ES modules), and the
// React renderer. out/renderer is also what the agent serves to browsers.
import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';
import { sqlText } from './scripts/sql-text-plugin';

export default defineConfig({
  main: {
    plugins: [sqlText()],
    build: {
      // npm packages stay external (better-sqlite3 is native and rebuilt for Electron when packaged).
      externalizeDeps: true,
      rolldownOptions: {
        input: {
          index: resolve('src/main/index.ts'),
          // The agent's code, run in a utilityProcess when no agent is running.
          'agent-host': resolve('src/main/agent-host.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      externalizeDeps: false,
      rolldownOptions: {
        input: { preload: resolve('src/preload/preload.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: 'src/renderer',
    plugins: [react()],
    build: {
      outDir: resolve('out/renderer'),
      minify: true,
      rolldownOptions: { input: resolve('src/renderer/index.html') },
    },
  },
});
