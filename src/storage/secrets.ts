// Secrets at rest (sync targets' API keys): a 0600 JSON file beside the database, never the
// database itself (whose pages, WAL and backups travel further) and never a log line. Written
// whole to a temporary 0600 file, then renamed, so a reader sees the old file or the new one.
import fs from 'node:fs';
import { TallyError } from '../core/errors';
import { realDbPath } from './lock';
import { writeFileAtomic } from '../files/atomic';

export type Secrets = Readonly<Record<string, string>>;

/** Databases in memory (tests) keep their secrets in memory too. */
const inMemory = new Map<string, Record<string, string>>();

/** Beside the database's real file: a symlinked path finds the same secrets. */
export function secretsFileFor(dbPath: string): string | null {
  return dbPath === ':memory:' || dbPath === '' ? null : `${realDbPath(dbPath)}.secrets.json`;
}

export function readSecrets(dbPath: string): Secrets {
  const file = secretsFileFor(dbPath);
  if (file === null) return { ...inMemory.get(dbPath) };
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new TallyError(
      'unavailable',
      `cannot read the secrets file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    throw new TallyError(
      'unavailable',
      `the secrets file ${file} is not a JSON object of strings: fix or remove it, then add the tokens again`,
    );
  }
}

/** Sets (or with null removes) some secrets; the file is created 0600, never wider. */
export function writeSecrets(dbPath: string, changes: Readonly<Record<string, string | null>>): void {
  const next: Record<string, string> = { ...readSecrets(dbPath) };
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) delete next[k];
    else next[k] = v;
  }
  const file = secretsFileFor(dbPath);
  if (file === null) {
    inMemory.set(dbPath, next);
    return;
  }
  writeFileAtomic(file, JSON.stringify(next, null, 2) + '\n');
}

export const targetTokenKey = (name: string): string => `sync.targets.${name}.token`;
