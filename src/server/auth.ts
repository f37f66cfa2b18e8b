// Who may talk to the agent: the API token (a 0600 file beside the database), the dashboard's
// session cookie, and the Host / Origin checks that stop DNS rebinding and cross-site requests.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TallyError } from '../core/errors';
import { TOKEN_FILE } from '../client/discovery';
import { writeFileAtomic } from '../files/atomic';

const TOKEN_TEXT = /^[A-Za-z0-9_-]{32,256}$/;

export function newSecret(): string {
  return crypto.randomBytes(32).toString('base64url');
}

/**
 * The agent's token: created on first run with mode 0600, then reused. A file readable by
 * others is tightened back to 0600 (and reported); an unusable one is replaced.
 */
export function loadOrCreateToken(dataDir: string, log: (line: object) => void = () => undefined): string {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, TOKEN_FILE);
  try {
    const text = fs.readFileSync(file, 'utf8').trim();
    if (TOKEN_TEXT.test(text)) {
      if (process.platform !== 'win32' && (fs.statSync(file).mode & 0o077) !== 0) {
        fs.chmodSync(file, 0o600);
        log({ level: 'warn', msg: 'token file was readable by others; set to 0600', file });
      }
      return text;
    }
    log({ level: 'warn', msg: 'token file unusable; writing a new token', file });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new TallyError('unavailable', `cannot read the token file ${file}: ${(err as Error).message}`, { cause: err });
    }
  }
  const token = newSecret();
  writeFileAtomic(file, token + '\n');
  return token;
}

/**
 * Constant-time comparison of a presented secret with ours. Only the length can differ in
 * time, and it is no secret: every token is 43 base64url characters.
 */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = secretBytes(expected);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/** Our secrets (the token, the session) as bytes, encoded once rather than on every request. */
const encodedSecrets = new Map<string, Buffer>();
function secretBytes(secret: string): Buffer {
  let bytes = encodedSecrets.get(secret);
  if (bytes === undefined) {
    if (encodedSecrets.size >= 16) encodedSecrets.clear();
    bytes = Buffer.from(secret, 'utf8');
    encodedSecrets.set(secret, bytes);
  }
  return bytes;
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * The Host header values the agent answers to: its loopback names on its port, plus, when it
 * was explicitly allowed to listen elsewhere, the configured host and this machine's names.
 */
export function allowedHosts(configuredHost: string, port: number, allowNonLoopback: boolean): Set<string> {
  const names = new Set(['127.0.0.1', 'localhost', '[::1]']);
  const bracket = (h: string) => (h.includes(':') && !h.startsWith('[') ? `[${h}]` : h);
  if (isLoopbackHost(configuredHost)) names.add(bracket(configuredHost.toLowerCase()));
  if (allowNonLoopback) {
    if (configuredHost !== '0.0.0.0' && configuredHost !== '::') names.add(bracket(configuredHost.toLowerCase()));
    names.add(os.hostname().toLowerCase());
    for (const list of Object.values(os.networkInterfaces())) {
      for (const a of list ?? []) names.add(bracket(a.address.toLowerCase().replace(/%.*$/, '')));
    }
  }
  return new Set([...names].map((n) => `${n}:${port}`));
}

/** Reads one cookie from a Cookie header without a parser dependency. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
