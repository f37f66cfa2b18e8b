// tally import FILE: bulk insert from a JSON array or JSON Lines file, streamed. The file is read
// a chunk at a time and records go to the writer in batches that wait for their commit (that
// wait is the back-pressure: the queue never fills and memory stays bounded at any file size).
// Without an agent the whole file is one transaction: every record, or none when one is bad;
// `--chunk N` commits every N records instead (each chunk all or nothing). Through a running
// agent each batch is one request (all or nothing per batch).
import fs from 'node:fs';
import fsp, { type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { Command } from 'commander';
import { invalid, TallyError } from '../../core/errors';
import { isObject } from '../../core/objects';
import { camelCaseRecord, hasSnakeCase } from '../../core/records';
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

/**
 * Bytes per read: a block's text stays an ordinary young object (a 256 KiB one lives in the large
 * object space: measured ~10 MB more peak RSS and more CPU at a million records).
 */
const READ_BYTES = 64 * 1024;

/**
 * The records of the file, parsed, in order, handed out in any number at a time. JSON Lines are
 * read into one reused buffer and cut at the last newline of each read, so a block decodes
 * without splitting a character and no line needs joining across reads; a line is parsed only
 * when a batch asks for it. A JSON array goes through JsonArraySplitter. `onBytes` follows the
 * read position for the progress bar.
 */
export class RecordReader {
  private buf = Buffer.allocUnsafe(READ_BYTES);
  /** Bytes in `buf` not yet decoded (the start of a line the next read completes). */
  private filled = 0;
  private mode: 'lines' | 'array' | null = null;
  /** JSON Lines: the decoded block (whole lines) and the position of the next line in it. */
  private text = '';
  private pos = 0;
  /** JSON array: the element texts completed so far, and the next one. */
  private texts: string[] = [];
  private next = 0;
  private splitter: JsonArraySplitter | null = null;
  private decoder: StringDecoder | null = null;
  private read = 0;
  private ended = false;
  /** Records handed out so far: the position in the file of the next one. */
  private n = 0;
  /** For the records of the last take() spelled in snake_case: field → the file's name for it. */
  private spellings = new Map<number, Record<string, string>>();

  private constructor(
    private readonly file: string,
    private readonly handle: FileHandle,
    private readonly onBytes: (read: number) => void,
  ) {}

  static async open(file: string, onBytes: (read: number) => void): Promise<RecordReader> {
    try {
      return new RecordReader(file, await fsp.open(file, 'r'), onBytes);
    } catch (err) {
      throw cannotRead(file, err);
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  /** Up to `max` records; fewer only at the end of the file. */
  async take(max: number): Promise<unknown[]> {
    if (this.spellings.size > 0) this.spellings = new Map();
    const out: unknown[] = [];
    while (out.length < max) {
      const text = this.nextText();
      if (text !== null) out.push(this.parse(text));
      else if (!(await this.fill())) break;
    }
    return out;
  }

  private nextText(): string | null {
    if (this.mode === 'array') return this.next < this.texts.length ? this.texts[this.next++]! : null;
    const text = this.text;
    for (;;) {
      const nl = text.indexOf('\n', this.pos);
      if (nl === -1) return null;
      const line = text.slice(this.pos, nl);
      this.pos = nl + 1;
      // Blank lines are skipped (a record line starts with "{": no trim needed).
      if (line.charCodeAt(0) === 123 || line.trim().length > 0) return line;
    }
  }

  /** The record's field names as the file spells them, where they differ (the last take() only). */
  spelling(position: number): Readonly<Record<string, string>> | undefined {
    return this.spellings.get(position);
  }

  private parse(text: string): unknown {
    const position = this.n++;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw invalid(`records[${position}]`, `is not JSON: ${(err as Error).message}`);
    }
    // The spellings POST /v1/events takes: customer_id, user_id, recorded_at or timestamp.
    if (!isObject(value) || !hasSnakeCase(value)) return value;
    const names: Record<string, string> = {};
    const record = camelCaseRecord(value, `records[${position}].`, names);
    this.spellings.set(position, names);
    return record;
  }

  /** Reads the next block; false at the end of the file. */
  private async fill(): Promise<boolean> {
    if (this.ended) return false;
    let got: number;
    try {
      got = (await this.handle.read(this.buf, this.filled, this.buf.length - this.filled, null)).bytesRead;
    } catch (err) {
      throw cannotRead(this.file, err);
    }
    this.read += got;
    this.onBytes(this.read);
    this.filled += got;
    // A UTF-8 byte order mark (some Windows editors write one) is not part of the JSON.
    if (this.mode === null && this.filled >= 3 && this.buf[0] === 0xef && this.buf[1] === 0xbb && this.buf[2] === 0xbf) {
      this.buf.copy(this.buf, 0, 3, this.filled);
      this.filled -= 3;
    }
    try {
      // The first characters decide: an array, or one JSON object per line.
      this.mode ??= /^\s*\[/.test(this.buf.toString('utf8', 0, this.filled)) ? 'array' : 'lines';
      if (this.mode === 'array') return this.fillArray(got);
      if (got === 0) {
        // The last line may lack its newline.
        this.ended = true;
        this.text = this.buf.toString('utf8', 0, this.filled) + '\n';
        this.pos = 0;
        this.filled = 0;
        return true;
      }
      const last = this.buf.lastIndexOf(10, this.filled - 1);
      if (last === -1) {
        // No line ends in the buffer yet: a line longer than the buffer grows it.
        if (this.filled === this.buf.length) {
          const bigger = Buffer.allocUnsafe(this.buf.length * 2);
          this.buf.copy(bigger, 0, 0, this.filled);
          this.buf = bigger;
        }
        this.text = '';
        this.pos = 0;
        return true;
      }
      this.text = this.buf.toString('utf8', 0, last + 1);
      this.pos = 0;
      this.buf.copy(this.buf, 0, last + 1, this.filled);
      this.filled -= last + 1;
      return true;
    } catch (err) {
      if (err instanceof SyntaxError) throw invalid('file', `is not a JSON array or JSON Lines: ${err.message}`);
      throw err;
    }
  }

  private fillArray(got: number): boolean {
    this.splitter ??= new JsonArraySplitter();
    this.decoder ??= new StringDecoder('utf8');
    this.texts = got === 0 ? [] : this.splitter.push(this.decoder.write(this.buf.subarray(0, this.filled)));
    this.next = 0;
    this.filled = 0;
    if (got === 0) {
      this.ended = true;
      const rest = this.decoder.end();
      if (rest.length > 0) this.texts = this.splitter.push(rest);
      this.splitter.end();
    }
    return true;
  }
}

function cannotRead(file: string, err: unknown): TallyError {
  return invalid('file', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
}

/** Up to `max` records from `source`, in arrays of at most BATCH; stops early at the end of the file. */
async function* batchesOf(source: RecordReader, max: number): AsyncGenerator<unknown[]> {
  let left = max;
  while (left > 0) {
    const want = Math.min(BATCH, left);
    const batch = await source.take(want);
    if (batch.length > 0) yield batch;
    if (batch.length < want) return;
    left -= batch.length;
  }
}

/**
 * A refused record named by its position in the file (`records[1042]`, where an agent says
 * `events[42]` of a batch that starts at record 1000) and its fields as the file spells them.
 */
function asInFile(err: unknown, first: number, records: RecordReader): unknown {
  if (!(err instanceof TallyError) || err.code !== 'invalid_input' || err.field === undefined) return err;
  const m = /^(?:events|records)\[(\d+)\](?:\.(.*))?$/.exec(err.field);
  if (!m) return err;
  const position = first + Number(m[1]);
  const rest = m[2];
  const head = rest?.split('.')[0] ?? '';
  const spelled = records.spelling(position)?.[head];
  const field = `records[${position}]${rest === undefined ? '' : `.${spelled ?? head}${rest.slice(head.length)}`}`;
  if (field === err.field) return err;
  // An agent's error carries its field in the message only.
  const problem = err.problem ?? (err.message.startsWith(`${err.field}: `) ? err.message.slice(err.field.length + 2) : err.message);
  return invalid(field, problem, err);
}

function count(into: Counts, stored: readonly StoredRef[]): void {
  for (const s of stored) {
    if (s.inserted) into.recorded++;
    else into.duplicates++;
  }
}

/** Into the database: one transaction for the file, or one per `chunk` records. */
async function importLocal(writer: BatchedWriter, records: RecordReader, chunk: number | null, done: Counts): Promise<void> {
  // Streaming touches each page once or twice: a small cache (SQLite's default size) costs no
  // time here (measured against 8 MiB at a million records) and keeps the process small.
  writer.setCacheKiB(2 * 1024);
  let offset = 0;
  let eof = false;
  while (!eof) {
    const inChunk: Counts = { recorded: 0, duplicates: 0 };
    const before = offset;
    await writer.atomically(async () => {
      for await (const batch of batchesOf(records, chunk ?? Infinity)) {
        // The writer names records by their position in the file already (offset).
        const stored = writer.recordMany(batch, 'records', offset).catch((err: unknown) => {
          throw asInFile(err, 0, records);
        });
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
async function importRemote(sink: RecordSink, records: RecordReader, done: Counts): Promise<void> {
  let offset = 0;
  for await (const batch of batchesOf(records, Infinity)) {
    try {
      count(done, await sink.recordMany(batch as never));
    } catch (err) {
      throw asInFile(err, offset, records);
    }
    offset += batch.length;
  }
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .argument(
      '<file>',
      'JSON array or JSON Lines of records ({service, quantity, metadata, customerId, userId, recordedAt, id, source}; customer_id, user_id, recorded_at or timestamp as POST /v1/events takes them)',
    )
    .option('--chunk <n>', 'commit every N records (each chunk all or nothing) instead of the whole file at once')
    .description('bulk insert, streamed: every record of the file, or none when one is bad')
    .action(async (file: string, o: { chunk?: string }, cmd: Command) => {
      const g = globals(cmd);
      const chunk = o.chunk === undefined ? null : parseNumberArg('chunk', o.chunk, { integer: true, min: 1 });
      const size = fs.existsSync(file) ? fs.statSync(file).size : 0;
      const bar = progressBar('import', !g.json);
      const records = await RecordReader.open(file, (read) => bar.update(read, size));
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
      } finally {
        await records.close();
      }
      bar.stop();
      if (g.json) return printJson(done);
      print(`recorded ${done.recorded} records (${done.duplicates} already present)`);
    });
}
