// File plumbing shared by exports and the archive: refuse to overwrite unless asked, write to a
// temporary name beside the target and rename it into place, and respect stream backpressure.
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { TallyError } from '../core/errors';
import { outputTarget } from '../files/atomic';

/** The target as an absolute path, refused (naming `field`) before anything is written when it cannot be written. */
export function checkTarget(file: string, force: boolean, field = 'out'): string {
  return outputTarget(file, field, {
    force,
    exists: (abs) => new TallyError('conflict', `${abs} already exists: pass --force to overwrite it`, { field }),
  });
}

export function partialName(abs: string): string {
  return path.join(path.dirname(abs), `.${path.basename(abs)}.${process.pid}.partial`);
}

/** Makes a rename durable: fsync the folder that holds the entry. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some filesystems (and Windows) cannot open a folder for fsync; the rename is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Buffers small strings into larger writes and waits for 'drain' when the stream asks to. A
 * stream that fails (a full disk) rejects the next write or end(): its 'error' is kept, never
 * left unhandled, and no wait for a 'drain' that will not come.
 */
export class BufferedWriter {
  private chunks: string[] = [];
  private size = 0;
  private failed: Error | null = null;
  constructor(
    private readonly stream: Writable,
    private readonly highWater = 256 * 1024,
  ) {
    stream.on('error', (err) => {
      this.failed ??= err;
    });
  }
  async write(text: string): Promise<void> {
    this.chunks.push(text);
    this.size += text.length;
    if (this.size >= this.highWater) await this.flush();
  }
  async flush(): Promise<void> {
    this.throwIfFailed();
    if (this.chunks.length === 0) return;
    const data = this.chunks.join('');
    this.chunks = [];
    this.size = 0;
    if (!this.stream.write(data)) await once(this.stream, 'drain');
  }
  async end(): Promise<void> {
    await this.flush();
    await new Promise<void>((resolve, reject) => {
      this.stream.once('error', reject);
      this.stream.end((err?: Error | null) => (err ? reject(err) : resolve()));
    });
    if (this.failed) throw this.failed;
  }
  private throwIfFailed(): void {
    if (this.failed) throw this.failed;
    // Destroyed without an error (by a pipeline that failed elsewhere): a write would vanish.
    if (this.stream.destroyed) throw new Error('the output stream was closed');
  }
}
