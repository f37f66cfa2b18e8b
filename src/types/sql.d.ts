// Migrations are plain .sql files; every bundler we use (esbuild for the CLI, vite for
// tests and the desktop app) loads them as text so a bundled build carries them.
declare module '*.sql' {
  const sql: string;
  export default sql;
}
