// One row of the performance table (issue 14): what was measured, its ratio to a baseline taken in
// the same run, and the target. Each benchmark prints its rows; when BENCH_ROWS names a file (set by
// `npm run bench`, bench/all.mjs), each row is also appended there as one JSON line, so the runner can
// print every row together at the end with the machine's cores and load.
import fs from 'node:fs';
import os from 'node:os';

export interface BenchRow {
  /** The row's name, as in the table: "writer at the default batch size (100) vs the bare loop". */
  what: string;
  /** The figure a reader compares with the target: "0.84×", "63 MB", "41 ms". */
  value: string;
  /** What it was measured against in this run, with both absolute figures. */
  detail: string;
  /** The target as written in the issue: "≥ 0.8×". */
  target: string;
  /** Whether the target was met in this run. */
  met: boolean;
}

/** "2 cores, load average 0.41 0.60 0.72": printed beside every set of rows. */
export function machine(): string {
  return `${os.cpus().length} cores, load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`;
}

export function reportRow(row: BenchRow): void {
  console.log(`${row.what.padEnd(62)} ${row.value.padStart(9)}  target ${row.target}  ${row.met ? 'met' : 'NOT MET'}  (${row.detail})`);
  const file = process.env.BENCH_ROWS;
  if (file) fs.appendFileSync(file, JSON.stringify({ ...row, bench: process.env.BENCH_NAME ?? '', load: os.loadavg()[0] }) + '\n');
}

/** a / b as "0.84×". */
export function ratio(a: number, b: number): string {
  return `${(a / b).toFixed(2)}×`;
}
