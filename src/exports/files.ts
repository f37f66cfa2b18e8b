// File plumbing shared by exports and the archive: refuse to overwrite unless asked, write to a
// temporary name beside the target and rename it into place, and respect stream backpressure.
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { TallyError } from '../core/errors';

export function checkTarget(file: string, force: boolean, field = 'out'): string {
  const abs = path.resolve(file);
  if (fs.existsSync(abs)) {
    if (!force) throw new TallyError('conflict', `${abs} already exists: pass --force to overwrite it`, { field });
    if (fs.statSync(abs).isDirectory()) throw new TallyError('invalid_input', `${field}: ${abs} is a directory`, { field });
  }
  const dir = path.dirname(abs);
  if (!fs.existsSync(dir)) throw new TallyError('invalid_input', `${field}: folder ${dir} does not exist`, { field });
  return abs;
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

/** Buffers small strings into larger writes and waits for 'drain' when the stream asks to. */
export class BufferedWriter {
  private chunks: string[] = [];
  private size = 0;
  constructor(
    private readonly stream: Writable,
    private readonly highWater = 256 * 1024,
  ) {}
  async write(text: string): Promise<void> {
    this.chunks.push(text);
    this.size += text.length;
    if (this.size >= this.highWater) await this.flush();
  }
  async flush(): Promise<void> {
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
      this.stream.end(() => resolve());
    });
  }
}
