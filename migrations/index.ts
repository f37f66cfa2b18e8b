// The static list of migrations. Frozen in time: each file is plain SQL and imports nothing
// from the app. Add a new file with the next number and append it here; never edit a shipped one.
import m0001 from './0001_init.sql';

export interface Migration {
  readonly id: number;
  readonly name: string;
  readonly sql: string;
}

export const migrations: readonly Migration[] = [{ id: 1, name: 'init', sql: m0001 }];
