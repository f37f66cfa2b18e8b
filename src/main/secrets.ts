// Secrets the desktop app keeps (sync tokens): encrypted with the OS keychain through
// safeStorage, stored as base64 in one file in the app's data folder. Never kept in plain text:
// where safeStorage is unavailable, saving refuses instead.
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../files/atomic';

export interface Cipher {
  isEncryptionAvailable(): boolean;
  encryptString(plain: string): Buffer;
  decryptString(encrypted: Buffer): string;
}

export class SecretStore {
  constructor(
    private readonly file: string,
    private readonly cipher: Cipher,
  ) {}

  private read(): Record<string, string> {
    try {
      const parsed = JSON.parse(fs.readFileSync(this.file, 'utf8')) as unknown;
      return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, string>) : {};
    } catch {
      return {};
    }
  }

  set(name: string, value: string): void {
    if (!this.cipher.isEncryptionAvailable()) throw new Error('secure storage is not available on this system: the token was not saved');
    const all = this.read();
    all[name] = this.cipher.encryptString(value).toString('base64');
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    writeFileAtomic(this.file, JSON.stringify(all));
  }

  get(name: string): string | null {
    const value = this.read()[name];
    if (value === undefined || !this.cipher.isEncryptionAvailable()) return null;
    try {
      return this.cipher.decryptString(Buffer.from(value, 'base64'));
    } catch {
      return null;
    }
  }
}
