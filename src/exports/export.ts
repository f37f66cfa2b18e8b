// Streaming exports of raw records (CSV, JSON, XLSX). Reads run on their own read-only
// connection inside one read transaction, so the summary and the rows see the same snapshot;
// rows are read newest first in keyset pages with .iterate(), and written with backpressure,
// so memory stays flat however many records there are. The file appears under its name only
// when complete (written to a temporary name, then renamed).
import fs from 'node:fs';
import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { invalid, TallyError } from '../core/errors';
import { currencyOf, formatNanos, roundingNote, roundLines } from '../core/money';
import { listServices } from '../storage/repos/services';
import { toDisplay, type ServiceDefinition } from '../core/services';
import { toIso } from '../core/time';
import { roundDisplay, unitsToBase, unitsToDisplay } from '../analytics/common';
import { joinLimbs } from '../core/quantity';
import {
  CSV_COLUMNS,
  csvLine,
  csvRecordLine,
  defaultExportName,
  EXPORT_FORMATS,
  toExportRecord,
  Totals,
  type ExportFormat,
  type ExportSummary,
  type RawRecord,
  seedPeriod,
  seedSummary,
} from '../core/exports/shape';
import { openDatabase, type TallyDb } from '../storage/open';
import { BufferedWriter, checkTarget, fsyncDir, partialName } from './files';

export interface ExportOptions {
  readonly dbPath: string;
  readonly format: ExportFormat;
  /** Target file; default: a name with the period in `dir` (default the working folder). */
  readonly out?: string | undefined;
  readonly dir?: string | undefined;
  readonly from: number;
  /** Exclusive. */
  readonly to: number;
  readonly service?: string | undefined;
  readonly customerId?: string | undefined;
  readonly force?: boolean | undefined;
  readonly now: number;
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
  readonly pageSize?: number | undefined;
  /** ISO 4217 code for the XLSX display format (default USD). */
  readonly currency?: string | undefined;
  /** Also write voided events, with a voided_at column (the summary still counts live events only). */
  readonly includeVoided?: boolean | undefined;
}

export interface ExportResult {
  readonly file: string;
  readonly format: ExportFormat;
  readonly records: number;
  /** Voided events written beside them (includeVoided), marked and not counted in the totals. */
  readonly voidedRecords: number;
  readonly bytes: number;
  readonly summary: ExportSummary;
}

interface Filters {
  from: number;
  to: number;
  service: string | null;
  customer: string | null;
  /** 1: the rows include voided events (the aggregates never do). */
  voided: 0 | 1;
}

// Voided events are left out of the totals: an export agrees with the report and the statement.
// With includeVoided the rows show them too, marked with voided_at.
const WHERE = `recorded_at >= @from AND recorded_at < @to AND voided_at IS NULL
  AND (@service IS NULL OR service = @service) AND (@customer IS NULL OR customer_id = @customer)`;
const ROWS_WHERE = `recorded_at >= @from AND recorded_at < @to AND (@voided = 1 OR voided_at IS NULL)
  AND (@service IS NULL OR service = @service) AND (@customer IS NULL OR customer_id = @customer)`;

interface Aggregates {
  count: number;
  maxMetadata: number;
  maxCustomer: number;
  /** quantity: exact units (src/core/quantity.ts). */
  perService: Array<{ service: string; events: number; quantity: bigint; cost: bigint }>;
}

function aggregates(sqlite: BetterSqlite3.Database, f: Filters): Aggregates {
  const rows = sqlite
    .prepare(
      `SELECT service, count(*) AS events, sum(quantity >> 32) AS qhi, sum(quantity & 4294967295) AS qlo, sum(cost_nanos) AS cost,
              max(length(metadata)) AS meta, max(length(customer_id)) AS cust
       FROM usage_records WHERE ${WHERE} GROUP BY service ORDER BY service`,
    )
    .safeIntegers(true)
    .all(f) as Array<{ service: string; events: bigint; qhi: bigint; qlo: bigint; cost: bigint; meta: bigint; cust: bigint }>;
  return {
    count: rows.reduce((n, r) => n + Number(r.events), 0),
    maxMetadata: rows.reduce((n, r) => Math.max(n, Number(r.meta)), 0),
    maxCustomer: rows.reduce((n, r) => Math.max(n, Number(r.cust)), 0),
    perService: rows.map((r) => ({ service: r.service, events: Number(r.events), quantity: joinLimbs(r.qhi, r.qlo), cost: r.cost })),
  };
}

/** Every matching record, newest first, in keyset pages. */
function* records(sqlite: BetterSqlite3.Database, f: Filters, pageSize: number): Generator<RawRecord & { voided_at: number | null }> {
  const page = sqlite.prepare(
    `SELECT seq, id, recorded_at, customer_id, user_id, host_id, service, CAST(quantity AS TEXT) AS quantity, unit_price, cost_nanos,
            metadata, source, voided_at
     FROM usage_records
     WHERE ${ROWS_WHERE} AND recorded_at <= @atAt AND (recorded_at < @atAt OR seq < @atSeq)
     ORDER BY recorded_at DESC, seq DESC LIMIT @limit`,
  );
  let at = f.to;
  let seq = Number.MAX_SAFE_INTEGER;
  for (;;) {
    let n = 0;
    for (const r of page.iterate({ ...f, atAt: at, atSeq: seq, limit: pageSize }) as IterableIterator<
      RawRecord & { voided_at: number | null }
    >) {
      n++;
      at = r.recorded_at;
      seq = r.seq;
      yield r;
    }
    if (n < pageSize) return;
  }
}

export function checkExportOptions(o: Pick<ExportOptions, 'format' | 'from' | 'to'>): void {
  if (!EXPORT_FORMATS.includes(o.format)) throw invalid('format', `"${String(o.format)}" must be csv, json or xlsx`);
  if (!(Number.isFinite(o.from) && Number.isFinite(o.to) && o.to > o.from)) throw invalid('to', 'must be after from');
}

/** `--out DIR/` (or an existing folder) names the file inside it, as the seed's monthly cron wants. */
function isFolder(out: string): boolean {
  if (out.endsWith('/') || out.endsWith(path.sep)) return true;
  try {
    return fs.statSync(out).isDirectory();
  } catch {
    return false;
  }
}

export function resolveExportPath(o: ExportOptions): string {
  const folder = o.out !== undefined && isFolder(o.out) ? o.out : undefined;
  const out = folder === undefined ? o.out : undefined;
  const file = out ?? path.join(folder ?? o.dir ?? process.cwd(), defaultExportName(o.format, o.from, o.to, o.service, o.customerId));
  if (folder !== undefined && !fs.existsSync(folder)) throw invalid('out', `the folder ${folder} does not exist`);
  const lower = file.toLowerCase();
  if (out && !lower.endsWith(`.${o.format}`)) throw invalid('out', `a ${o.format.toUpperCase()} export needs a .${o.format} file name`);
  return checkTarget(file, o.force ?? false);
}

export async function exportRecords(o: ExportOptions): Promise<ExportResult> {
  checkExportOptions(o);
  const file = resolveExportPath(o);
  const tdb = openDatabase(o.dbPath, { readonly: true });
  const tmp = partialName(file);
  try {
    const services = new Map((await listServices(tdb.db)).map((s) => [s.name, s]));
    if (o.service && !services.has(o.service)) throw invalid('service', `unknown service "${o.service}"`);
    const f: Filters = {
      from: o.from,
      to: o.to,
      service: o.service ?? null,
      customer: o.customerId ?? null,
      voided: o.includeVoided ? 1 : 0,
    };
    // One snapshot for the summary and every page of rows.
    tdb.sqlite.exec('BEGIN');
    let summary: ExportSummary;
    let count: number;
    let voidedRecords = 0;
    try {
      const agg = aggregates(tdb.sqlite, f);
      if (f.voided === 1)
        voidedRecords = tdb.sqlite
          .prepare(`SELECT count(*) FROM usage_records WHERE ${ROWS_WHERE} AND voided_at IS NOT NULL`)
          .pluck()
          .get(f) as number;
      const run = { tdb, f, agg, services, o, tmp, pageSize: o.pageSize ?? 5000 };
      ({ summary, count } = o.format === 'csv' ? await writeCsv(run) : o.format === 'json' ? await writeJson(run) : await writeXlsx(run));
      if (count !== agg.count) throw new TallyError('internal', `export wrote ${count} records but the snapshot holds ${agg.count}`);
    } finally {
      tdb.sqlite.exec('COMMIT');
    }
    const fd = fs.openSync(tmp, 'r');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
    fsyncDir(path.dirname(file));
    return { file, format: o.format, records: count, voidedRecords, bytes: fs.statSync(file).size, summary };
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  } finally {
    await tdb.close();
  }
}

interface Run {
  tdb: TallyDb;
  f: Filters;
  agg: Aggregates;
  services: Map<string, ServiceDefinition>;
  o: ExportOptions;
  tmp: string;
  pageSize: number;
}

function progress(run: Run): (done: number) => void {
  const total = run.agg.count;
  const cb = run.o.onProgress;
  if (!cb) return () => undefined;
  cb(0, total);
  return (done) => {
    if (done % 2000 === 0 || done === total) cb(done, total);
  };
}

async function writeCsv(run: Run): Promise<{ summary: ExportSummary; count: number }> {
  const out = new BufferedWriter(fs.createWriteStream(run.tmp));
  const totals = new Totals();
  const tick = progress(run);
  const voided = run.f.voided === 1;
  await out.write(csvLine(voided ? [...CSV_COLUMNS, 'voided_at'] : [...CSV_COLUMNS]));
  let n = 0;
  for (const r of records(run.tdb.sqlite, run.f, run.pageSize)) {
    const line = csvRecordLine(r, run.services.get(r.service));
    await out.write(voided ? `${line.slice(0, -2)},${r.voided_at === null ? '' : toIso(r.voided_at)}\r\n` : line);
    if (r.voided_at !== null) continue; // shown, not counted
    totals.add(r.service, r.quantity, r.cost_nanos, r.recorded_at, r.metadata, run.services.get(r.service)?.aggregationField);
    tick(++n);
  }
  tick(n);
  await out.end();
  return { summary: totals.summary(run.services), count: n };
}

async function writeJson(run: Run): Promise<{ summary: ExportSummary; count: number }> {
  const out = new BufferedWriter(fs.createWriteStream(run.tmp));
  const totals = new Totals();
  const tick = progress(run);
  const head = {
    customer_id: run.o.customerId ?? null,
    export_date: toIso(run.o.now),
    period: seedPeriod(run.o.from, run.o.to),
    service: run.o.service ?? null,
  };
  // The seed's structure, written as it streams: the header keys, the records, then the summary.
  await out.write(JSON.stringify(head, null, 2).slice(0, -2) + ',\n  "usage_records": [');
  let n = 0;
  let written = 0;
  for (const r of records(run.tdb.sqlite, run.f, run.pageSize)) {
    const rec = toExportRecord(r, run.services.get(r.service));
    const row = run.f.voided === 1 ? { ...rec, voided_at: r.voided_at === null ? null : toIso(r.voided_at) } : rec;
    await out.write((written++ === 0 ? '\n    ' : ',\n    ') + JSON.stringify(row));
    if (r.voided_at !== null) continue; // shown, not counted
    totals.add(r.service, r.quantity, r.cost_nanos, r.recorded_at, r.metadata, run.services.get(r.service)?.aggregationField);
    tick(++n);
  }
  tick(n);
  const summary = totals.summary(run.services);
  const shown = seedSummary(summary);
  await out.write(`${written === 0 ? '' : '\n  '}],\n  "summary": ${JSON.stringify(shown, null, 2).replace(/\n/g, '\n  ')}\n}\n`);
  await out.end();
  return { summary, count: n };
}

/** Amounts show in the currency's minor unit (the value stays exact; "Cost (exact)" beside it). */
function costFormat(currency = 'USD'): string {
  const c = currencyOf(currency);
  return `"${c.prefix.replace(/"/g, '')}"#,##0${c.decimals > 0 ? `.${'0'.repeat(c.decimals)}` : ''}`;
}
const DATE_FORMAT = 'yyyy-mm-dd hh:mm:ss';

async function writeXlsx(run: Run): Promise<{ summary: ExportSummary; count: number }> {
  const { services, agg, o } = run;
  // exceljs is loaded only when an XLSX is written: it costs ~1 s and ~25 MB at start-up.
  const { default: Excel } = await import('exceljs');
  const wb = new Excel.stream.xlsx.WorkbookWriter({ filename: run.tmp, useStyles: true, useSharedStrings: false });
  wb.creator = 'Tally';
  wb.created = new Date(o.now);
  const frozen = [{ state: 'frozen' as const, ySplit: 1 }];
  const bold = { font: { bold: true } };

  // Summary and Daily come from the snapshot's aggregates and are committed before the
  // records, so the zip never holds an open sheet while a million rows go by.
  const quotas = quotaMap(run);
  const COST_FORMAT = costFormat(o.currency);
  // Summary lines are rounded to the minor unit and the TOTAL sums them, so the sheet adds up.
  const rounded = roundLines(
    agg.perService.map((s) => s.cost),
    o.currency ?? 'USD',
  );
  const summarySheet = wb.addWorksheet('Summary', { views: frozen });
  summarySheet.columns = [
    { header: 'Service', key: 'service', width: 14 },
    { header: 'Events', key: 'events', width: 12, style: { numFmt: '#,##0' } },
    { header: 'Usage', key: 'usage', width: 18, style: { numFmt: '#,##0.00####' } },
    { header: 'Unit', key: 'unit', width: 22 },
    { header: 'Cost', key: 'cost', width: 18, style: { numFmt: COST_FORMAT } },
    { header: 'Cost (exact)', key: 'exact', width: 20 },
    { header: 'Monthly quota', key: 'quota', width: 16, style: { numFmt: '#,##0.##' } },
  ];
  summarySheet.getRow(1).font = bold.font;
  let total = 0n;
  let events = 0;
  for (const [i, s] of agg.perService.entries()) {
    const def = services.get(s.service);
    total += s.cost;
    events += s.events;
    summarySheet
      .addRow({
        service: s.service,
        events: s.events,
        usage: def ? roundDisplay(unitsToDisplay(def, s.quantity)) : Number(s.quantity),
        unit: unitLabel(def),
        cost: Number(rounded.lines[i]!) / 1e9,
        exact: formatNanos(s.cost),
        quota: quotas.get(s.service) ?? null,
      })
      .commit();
  }
  const lines = agg.perService.length;
  const totalRow = summarySheet.addRow({
    service: 'TOTAL',
    events: lines > 0 ? { formula: `SUM(B2:B${lines + 1})`, result: events } : 0,
    cost: lines > 0 ? { formula: `SUM(E2:E${lines + 1})`, result: Number(rounded.total) / 1e9 } : 0,
    exact: formatNanos(total),
  });
  totalRow.font = bold.font;
  totalRow.commit();
  summarySheet.addRow({}).commit();
  if (rounded.difference !== 0n) summarySheet.addRow({ service: roundingNote(rounded, o.currency ?? 'USD') }).commit();
  summarySheet.addRow({ service: `Period ${toIso(o.from)} to ${toIso(o.to)} (end exclusive, UTC). GB = GiB (2^30 bytes).` }).commit();
  summarySheet.commit();

  const daily = wb.addWorksheet('Daily', { views: frozen });
  daily.columns = [
    { header: 'Day', key: 'day', width: 12, style: { numFmt: 'yyyy-mm-dd' } },
    { header: 'Service', key: 'service', width: 14 },
    { header: 'Events', key: 'events', width: 12, style: { numFmt: '#,##0' } },
    { header: 'Usage', key: 'usage', width: 18, style: { numFmt: '#,##0.00####' } },
    { header: 'Unit', key: 'unit', width: 22 },
    { header: 'Cost', key: 'cost', width: 18, style: { numFmt: COST_FORMAT } },
    { header: 'Cost (exact)', key: 'exact', width: 20 },
  ];
  daily.getRow(1).font = bold.font;
  const days = run.tdb.sqlite
    .prepare(
      `SELECT (recorded_at / 86400000) * 86400000 AS day, service, count(*) AS events,
              sum(quantity >> 32) AS qhi, sum(quantity & 4294967295) AS qlo, sum(cost_nanos) AS cost
       FROM usage_records WHERE ${WHERE} GROUP BY day, service ORDER BY day DESC, service`,
    )
    .safeIntegers(true);
  for (const d of days.iterate(run.f) as IterableIterator<{
    day: bigint;
    service: string;
    events: bigint;
    qhi: bigint;
    qlo: bigint;
    cost: bigint;
  }>) {
    const def = services.get(d.service);
    daily
      .addRow({
        day: new Date(Number(d.day)),
        service: d.service,
        events: Number(d.events),
        usage: def ? roundDisplay(unitsToDisplay(def, joinLimbs(d.qhi, d.qlo))) : Number(joinLimbs(d.qhi, d.qlo)),
        unit: unitLabel(def),
        cost: Number(d.cost) / 1e9,
        exact: formatNanos(d.cost),
      })
      .commit();
  }
  daily.commit();

  const sheet = wb.addWorksheet('Records', { views: frozen });
  // Column formats go on each cell as shared objects: exceljs caches a style by object
  // identity, and a per-cell copy (what column styles give) costs a lookup per cell.
  const PLAIN = {};
  const styles = [
    PLAIN,
    { numFmt: DATE_FORMAT },
    PLAIN,
    PLAIN,
    PLAIN,
    { numFmt: '#,##0.######' },
    PLAIN,
    { numFmt: '#,##0.00####' },
    PLAIN,
    PLAIN,
    { numFmt: COST_FORMAT },
    PLAIN,
    PLAIN,
    PLAIN,
    PLAIN,
  ];
  sheet.columns = [
    { header: 'ID', key: 'id', width: 28 },
    { header: 'Timestamp (UTC)', key: 'ts', width: 20 },
    { header: 'Customer', key: 'customer', width: clampWidth(agg.maxCustomer, 10, 40) },
    { header: 'User', key: 'user', width: 14 },
    { header: 'Service', key: 'service', width: 12 },
    { header: 'Quantity', key: 'quantity', width: 16 },
    { header: 'Base unit', key: 'baseUnit', width: 13 },
    { header: 'Usage', key: 'usage', width: 14 },
    { header: 'Unit', key: 'unit', width: 12 },
    { header: 'Unit price', key: 'unitPrice', width: 12 },
    { header: 'Cost', key: 'cost', width: 16 },
    { header: 'Cost (exact)', key: 'exact', width: 16 },
    { header: 'Metadata', key: 'metadata', width: clampWidth(agg.maxMetadata, 10, 80) },
    { header: 'Host', key: 'host', width: 16 },
    { header: 'Source', key: 'source', width: 10 },
    ...(run.f.voided === 1 ? [{ header: 'Voided at (UTC)', key: 'voided', width: 20 }] : []),
  ];
  sheet.getRow(1).font = bold.font;
  const totals = new Totals();
  const tick = progress(run);
  let n = 0;
  for (const r of records(run.tdb.sqlite, run.f, run.pageSize)) {
    const def = services.get(r.service);
    const units = BigInt(r.quantity);
    const base = unitsToBase(def ?? { integerOnly: true }, units);
    const row = sheet.addRow([
      r.id,
      new Date(r.recorded_at),
      r.customer_id,
      r.user_id,
      r.service,
      // A number cell while a double holds it exactly; exact text beyond (Excel keeps 15 digits).
      Number.isSafeInteger(Number(units)) ? Number(base) : base,
      def?.baseUnit ?? '',
      def ? roundDisplay(unitsToDisplay(def, units)) : Number(units),
      def?.displayUnit ?? '',
      r.unit_price,
      r.cost_nanos / 1e9,
      formatNanos(r.cost_nanos),
      r.metadata,
      r.host_id,
      r.source,
      ...(run.f.voided === 1 ? [r.voided_at === null ? null : new Date(r.voided_at)] : []),
    ]);
    for (let c = 0; c < styles.length; c++) row.getCell(c + 1).style = styles[c]!;
    row.commit();
    if (r.voided_at !== null) continue; // shown, not counted
    totals.add(r.service, r.quantity, r.cost_nanos, r.recorded_at, r.metadata, run.services.get(r.service)?.aggregationField);
    tick(++n);
    if (n % 500 === 0) await drainSheet(sheet);
  }
  tick(n);
  sheet.commit();
  await wb.commit();
  return { summary: totals.summary(services), count: n };
}

interface StreamState {
  length?: number;
}
interface PipeTarget {
  writableLength?: number;
  _writableState?: StreamState;
  _readableState?: StreamState;
}
interface SheetStream {
  _stream?: { buffers?: unknown[]; pipes?: PipeTarget[] };
}

/** Bytes waiting in a pipe target (archiver's streams are readable-stream v2: no writableLength). */
function pending(p: PipeTarget): number {
  return (p.writableLength ?? p._writableState?.length ?? 0) + (p._readableState?.length ?? 0);
}

const BACKLOG_BYTES = 4 * 1024 * 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * exceljs's sheet stream writes into the zip's deflate stream without waiting for it, so a fast
 * producer piles rows up in memory. Wait while the sheet's own buffers or the deflate stream's
 * input hold more than a few MiB: that keeps memory flat at any row count.
 */
async function drainSheet(sheet: unknown): Promise<void> {
  const stream = (sheet as SheetStream)._stream;
  if (!stream) return;
  for (let i = 0; i < 2000; i++) {
    const own = (stream.buffers?.length ?? 0) * 65536;
    const piped = stream.pipes?.reduce((n, p) => n + pending(p), 0) ?? 0;
    if (own + piped <= BACKLOG_BYTES) return;
    await sleep(2);
  }
}

function unitLabel(def: ServiceDefinition | undefined): string {
  if (!def) return '';
  return def.displayUnit.includes('GB') ? `${def.displayUnit} (GB = GiB)` : def.displayUnit;
}

function clampWidth(chars: number, min: number, max: number): number {
  return Math.max(min, Math.min(max, chars + 2));
}

/** Monthly quotas (display units) of the exported customer, when the export is for one customer. */
function quotaMap(run: Run): Map<string, number> {
  const customer = run.o.customerId;
  const out = new Map<string, number>();
  if (!customer) return out;
  const rows = run.tdb.sqlite
    .prepare(`SELECT service, limit_quantity FROM quotas WHERE customer_id = ? AND period = 'month'`)
    .all(customer) as Array<{
    service: string;
    limit_quantity: number;
  }>;
  for (const r of rows) {
    const def = run.services.get(r.service);
    out.set(r.service, def ? roundDisplay(toDisplay(def, r.limit_quantity)) : r.limit_quantity);
  }
  return out;
}
