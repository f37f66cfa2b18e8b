// Sync tokens kept by the desktop app: encrypted at rest, refused when no keychain is there.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SecretStore, type Cipher } from '../../src/main/secrets';

// Stands in for Electron's safeStorage (the OS keychain), which needs a running Electron.
const xor = (b: Buffer) => Buffer.from(b.map((x) => x ^ 0x5a));
const keychain: Cipher = {
  isEncryptionAvailable: () => true,
  encryptString: (s) => xor(Buffer.from(s, 'utf8')),
  decryptString: (b) => xor(b).toString('utf8'),
};

function tempFile(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tally-secrets-')), 'secrets.json');
}

describe('SecretStore', () => {
  it('keeps a token encrypted and gives it back', () => {
    const file = tempFile();
    const store = new SecretStore(file, keychain);
    store.set('sync:billing', 'sk_live_abcdef');
    expect(store.get('sync:billing')).toBe('sk_live_abcdef');
    expect(fs.readFileSync(file, 'utf8')).not.toContain('sk_live_abcdef');
    if (process.platform !== 'win32') expect(fs.statSync(file).mode & 0o077).toBe(0);
    expect(new SecretStore(file, keychain).get('sync:other')).toBeNull();
  });

  it('refuses to store anything without a keychain', () => {
    const file = tempFile();
    const store = new SecretStore(file, { ...keychain, isEncryptionAvailable: () => false });
    expect(() => store.set('sync:billing', 'sk_live_abcdef')).toThrow(/secure storage is not available/);
    expect(fs.existsSync(file)).toBe(false);
  });
});
