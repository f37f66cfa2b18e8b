// tally import FILE: bulk insert from a JSON array or JSON Lines file, streamed. The file is read
// a chunk at a time and records go to the writer in batches that wait for their commit (that
// wait is the back-pressure: the queue never fills and memory stays bounded at any file size).
// Without an agent the whole file is one transaction: every record, or none when one is bad;
// `--chunk N` commits every N records instead (each chunk all or nothing). Through a running
// agent each batch is one request (all or nothing per batch).
import fs from 'node:fs';
import { Command } from 'commander';
import { invalid, TallyError } from '../../core/errors';
import type { RecordSink, StoredRef } from '../../core/tracking';
import { BatchedWriter } from '../../storage/writer';
import { parseNumberArg } from '../args';
import { configFor, globals } from '../context';
import { print, printJson } from '../output';
import { withSink } from '../sink';
import { progressBar } from './progress';

/** Records per commit (and per request to an agent): enough to amortise a commit, few enough to die young in the GC. */
const BATCH = 1000;

interface Counts {
  recorded: number;
  duplicates: number;
}

/** Splits the text of a JSON array into the texts of its elements, across chunk boundaries. */
export class JsonArraySplitter {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private carry = '';
  private closed = false;

  /** Feeds a chunk; returns the elements completed in it. */
  push(chunk: string): string[] {
    const out: string[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 92 /* \ */) this.escaped = true;
        else if (c === 34 /* " */) this.inString = false;
      } else if (c === 34) this.inString = true;
      else if (c === 91 /* [ */ || c === 123 /* { */) {
        if (this.closed) throw new SyntaxError('data after the closing ]');
        if (++this.depth === 1) start = i + 1;
      } else if (c === 93 /* ] */ || c === 125 /* } */) {
        if (--this.depth === 0) {
          this.emit(chunk.slice(start, i), out);
          this.closed = true;
        }
      } else if (c === 44 /* , */ && this.depth === 1) {
        this.emit(chunk.slice(start, i), out);
        start = i + 1;
      } else if (this.depth === 0 && c > 32) throw new SyntaxError(`unexpected "${String.fromCharCode(c)}" outside the array`);
    }
    if (this.depth >= 1) this.carry += chunk.slice(start);
    return out;
  }

  /** Throws when the array never closed (a truncated file). */
  end(): void {
    if (!this.closed) throw new SyntaxError('the array is not closed: the file is truncated');
  }

  private emit(tail: string, out: string[]): void {
    const text = (this.carry + tail).trim();
    this.carry = '';
    if (text.length > 0) out.push(text);
  }
}

/** Splits JSON Lines into lines, across chunk boundaries; blank lines are skipped. */
class LineSplitter {
  private carry = '';
  push(chunk: string): string[] {
    const lines = (this.carry + chunk).split('\n');
    this.carry = lines.pop()!;
    return lines.filter((l) => l.trim().length > 0);
  }
  end(): string[] {
    const last = this.carry.trim();
    return last.length > 0 ? [last] : [];
  }
}

/**
 * The records of the file, parsed, in order, one array per read chunk (one await per chunk, not
 * per record); `onBytes` follows the read position for the progress bar.
 */
async function* readRecords(file: string, onBytes: (read: number) => void): AsyncGenerator<unknown[]> {
  let stream: fs.ReadStream;
  try {
    fs.accessSync(file, fs.constants.R_OK);
    stream = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
  } catch (err) {
    throw invalid('file', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let splitter: JsonArraySplitter | LineSplitter | null = null;
  let n = 0;
  let read = 0;
  const parse = (text: string): unknown => {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw invalid(`records[${n}]`, `is not JSON: ${(err as Error).message}`);
    } finally {
      n++;
    }
  };
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      read += Buffer.byteLength(chunk);
      onBytes(read);
      // The first character decides: an array, or one JSON object per line.
      splitter ??= /^\s*\[/.test(chunk) ? new JsonArraySplitter() : new LineSplitter();
      const parsed = splitter.push(chunk).map(parse);
      if (parsed.length > 0) yield parsed;
    }
    if (splitter instanceof LineSplitter) yield splitter.end().map(parse);
    else splitter?.end();
  } catch (err) {
    if (err instanceof SyntaxError) throw invalid('file', `is not a JSON array or JSON Lines: ${err.message}`);
    throw err;
  } finally {
    stream.destroy();
  }
}

/** The file's records handed out in any slices, whatever the read chunks were. */
class RecordSource {
  private buffer: unknown[] = [];
  private at = 0;
  private ended = false;
  constructor(private readonly chunks: AsyncIterator<unknown[]>) {}

  /** Up to `n` records; fewer only at the end of the file. */
  async take(n: number): Promise<unknown[]> {
    const out: unknown[] = [];
    while (out.length < n) {
      if (this.at === this.buffer.length) {
        if (this.ended) break;
        const next = await this.chunks.next();
        if (next.done) this.ended = true;
        else [this.buffer, this.at] = [next.value, 0];
        continue;
      }
      const end = Math.min(this.buffer.length, this.at + n - out.length);
      for (let i = this.at; i < end; i++) out.push(this.buffer[i]);
      this.at = end;
    }
    return out;
  }
}

/** Up to `max` records from `source`, in arrays of at most BATCH; stops early at the end of the file. */
async function* batchesOf(source: RecordSource, max: number): AsyncGenerator<unknown[]> {
  let left = max;
  while (left > 0) {
    const want = Math.min(BATCH, left);
    const batch = await source.take(want);
    if (batch.length > 0) yield batch;
    if (batch.length < want) return;
    left -= batch.length;
  }
}

function count(into: Counts, stored: readonly StoredRef[]): void {
  for (const s of stored) {
    if (s.inserted) into.recorded++;
    else into.duplicates++;
  }
}

/** Into the database: one transaction for the file, or one per `chunk` records. */
async function importLocal(writer: BatchedWriter, records: RecordSource, chunk: number | null, done: Counts): Promise<void> {
  // Streaming touches each page once or twice: a small cache costs little time and keeps the
  // process near its baseline (≤ 150 MB RSS at a million records).
  writer.setCacheKiB(8 * 1024);
  let offset = 0;
  let eof = false;
  while (!eof) {
    const inChunk: Counts = { recorded: 0, duplicates: 0 };
    const before = offset;
    await writer.atomically(async () => {
      for await (const batch of batchesOf(records, chunk ?? Infinity)) {
        const stored = writer.recordMany(batch, 'records', offset);
        // Commit now: nobody else adds to this writer, so waiting for company (group commit) only delays.
        await writer.flush();
        count(inChunk, await stored);
        offset += batch.length;
      }
    });
    done.recorded += inChunk.recorded;
    done.duplicates += inChunk.duplicates;
    eof = chunk === null || offset - before < chunk;
  }
}

/** Through the running agent: one request per batch, each all or nothing. */
async function importRemote(sink: RecordSink, records: RecordSource, done: Counts): Promise<void> {
  for await (const batch of batchesOf(records, Infinity)) count(done, await sink.recordMany(batch as never));
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .argument('<file>', 'JSON array or JSON Lines of records ({service, quantity, metadata, customerId, recordedAt, …})')
    .option('--chunk <n>', 'commit every N records (each chunk all or nothing) instead of the whole file at once')
    .description('bulk insert, streamed: every record of the file, or none when one is bad')
    .action(async (file: string, o: { chunk?: string }, cmd: Command) => {
      const g = globals(cmd);
      const chunk = o.chunk === undefined ? null : parseNumberArg('chunk', o.chunk, { integer: true, min: 1 });
      const size = fs.existsSync(file) ? fs.statSync(file).size : 0;
      const bar = progressBar('import', !g.json);
      const records = new RecordSource(readRecords(file, (read) => bar.update(read, size)));
      const done: Counts = { recorded: 0, duplicates: 0 };
      try {
        await withSink(configFor(g), (sink) =>
          sink instanceof BatchedWriter ? importLocal(sink, records, chunk, done) : importRemote(sink, records, done),
        );
      } catch (err) {
        bar.stop();
        // Chunks committed before the failure stay: say how far the import got.
        if (done.recorded + done.duplicates > 0 && err instanceof TallyError) {
          process.stderr.write(`stored ${done.recorded} records (${done.duplicates} already present) before the failure\n`);
        }
        throw err;
      }
      bar.stop();
      if (g.json) return printJson(done);
      print(`recorded ${done.recorded} records (${done.duplicates} already present)`);
    });
}
