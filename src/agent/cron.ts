// The agent's cron schedules (collectors, maintenance jobs). node-cron reads the wall clock
// through Intl.DateTimeFormat on every check, and ICU's locale and time-zone data it pulls in stay
// mapped: about 5 MB of resident memory for an agent whose schedules are all in local time. The
// expressions Tally's users write (numbers, names, `*`, `?`, ranges, steps, lists, an optional
// seconds field, the @nicknames) are read here with node-cron's meaning (day of month AND day of
// week, wrapping ranges, 7 = Sunday) and timed with the Date's local fields; the rest of node-cron's
// syntax (L, W, #) is handed to node-cron itself. The config is checked with node-cron before it
// gets here (src/config/cron.ts), so an expression reaching this file is valid.
import { nodeCron } from '../config/cron';

/** The allowed values of each field, as bit sets (second, minute, hour: 0..; day, month: 1..; weekday 0-6). */
export interface CronFields {
  readonly seconds: bigint;
  readonly minutes: bigint;
  readonly hours: number;
  readonly days: number;
  readonly months: number;
  readonly weekdays: number;
}

export interface CronTask {
  start(): Promise<void>;
  destroy(): Promise<void>;
}

export interface CronOptions {
  /** Skip a run while the previous one (its promise) has not settled. */
  readonly noOverlap?: boolean;
  /** node-cron's task name (only for the expressions node-cron runs). */
  readonly name?: string;
}

const NICKNAMES: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const LONG_MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const LONG_WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
/** second, minute, hour, day of month, month, day of week */
const BOUNDS: ReadonlyArray<readonly [number, number]> = [
  [0, 59],
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
];

function value(text: string, field: number): number | null {
  const t = text.toLowerCase();
  let n: number;
  if (/^\d+$/.test(t)) n = Number(t);
  else if (field === 4 && (MONTHS.includes(t) || LONG_MONTHS.includes(t))) n = Math.max(MONTHS.indexOf(t), LONG_MONTHS.indexOf(t)) + 1;
  else if (field === 5 && (WEEKDAYS.includes(t) || LONG_WEEKDAYS.includes(t))) n = Math.max(WEEKDAYS.indexOf(t), LONG_WEEKDAYS.indexOf(t));
  else return null;
  const [min, max] = BOUNDS[field]!;
  return n >= min && n <= max ? n : null;
}

/** One field's values, or null for syntax this file leaves to node-cron. */
function parseField(text: string, field: number): number[] | null {
  const [min, max] = BOUNDS[field]!;
  const top = field === 5 ? 6 : max; // `*` in the weekday field is 0-6
  const out: number[] = [];
  for (const token of text.split(',')) {
    const m = /^(\*|\?|[a-z0-9]+)(?:-([a-z0-9]+))?(?:\/(\d+))?$/i.exec(token);
    if (!m) return null;
    const [, head, end, stepText] = m;
    if (head === '?' && ((field !== 3 && field !== 5) || text !== '?')) return null;
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!(step >= 1)) return null;
    let first: number;
    let last: number;
    if (head === '*' || head === '?') {
      if (end !== undefined) return null;
      first = min;
      last = top;
    } else {
      const a = value(head!, field);
      if (a === null) return null;
      if (end === undefined) {
        if (stepText !== undefined) return null; // `5/10`: node-cron's own reading
        out.push(a);
        continue;
      }
      const b = value(end, field);
      if (b === null) return null;
      first = a;
      last = b;
    }
    if (first <= last) {
      for (let v = first; v <= last; v += step) out.push(v);
    } else {
      // A wrapping range (`22-2`, `fri-mon`) goes past the top back to the bottom, as in node-cron.
      const size = top - min + 1;
      const span = (((last - first) % size) + size) % size;
      for (let offset = 0; offset <= span; offset += step) out.push(first + offset > top ? first + offset - size : first + offset);
    }
  }
  return field === 5 ? out.map((v) => (v === 7 ? 0 : v)) : out;
}

const bits = (values: readonly number[]): number => values.reduce((acc, v) => acc | (1 << v), 0);
const bigBits = (values: readonly number[]): bigint => values.reduce((acc, v) => acc | (1n << BigInt(v)), 0n);

/** The expression's fields, or null when it uses syntax node-cron alone reads (L, W, #). */
export function parseCron(expression: string): CronFields | null {
  const text = expression.trim();
  const parts = (NICKNAMES[text.toLowerCase()] ?? text).split(/\s+/);
  if (parts.length === 5) parts.unshift('0');
  if (parts.length !== 6) return null;
  const fields: number[][] = [];
  for (let i = 0; i < 6; i++) {
    const f = parseField(parts[i]!, i);
    if (f === null || f.length === 0) return null;
    fields.push(f);
  }
  return {
    seconds: bigBits(fields[0]!),
    minutes: bigBits(fields[1]!),
    hours: bits(fields[2]!),
    days: bits(fields[3]!),
    months: bits(fields[4]!),
    weekdays: bits(fields[5]!),
  };
}

const has = (set: number, v: number) => (set & (1 << v)) !== 0;
const hasBig = (set: bigint, v: number) => (set & (1n << BigInt(v))) !== 0n;

const ALL_HOURS = 2 ** 24 - 1;

/** Whether the wall-clock time `d` shows happened already, before the clock went back. */
function repeated(d: Date): boolean {
  const offset = d.getTimezoneOffset();
  const before = new Date(d.getTime() - 3 * 3_600_000).getTimezoneOffset();
  if (offset <= before) return false;
  return new Date(d.getTime() - (offset - before) * 60_000).getTimezoneOffset() === before;
}

/** The first whole second strictly after `after` that the fields match (local time), or null within 100 years. */
export function nextRun(f: CronFields, after: Date): Date | null {
  let t = Math.floor(after.getTime() / 1000) * 1000 + 1000;
  const limit = t + 100 * 366 * 86_400_000;
  while (t < limit) {
    const d = new Date(t);
    if (!has(f.months, d.getMonth() + 1) || !has(f.days, d.getDate()) || !has(f.weekdays, d.getDay())) {
      // The next local midnight (or the first hour of a day whose midnight a DST change skips).
      const next = new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1);
      t = next.getTime() > t ? next.getTime() : t + 3_600_000;
      continue;
    }
    // Within a day, absolute steps (an hour that happens twice when DST ends is walked twice).
    if (!has(f.hours, d.getHours())) {
      t += 3_600_000 - d.getMinutes() * 60_000 - d.getSeconds() * 1000;
      continue;
    }
    if (!hasBig(f.minutes, d.getMinutes())) {
      t += 60_000 - d.getSeconds() * 1000;
      continue;
    }
    if (!hasBig(f.seconds, d.getSeconds())) {
      t += 1000;
      continue;
    }
    // The clock went back (DST ends) and shows this time a second time: a schedule at fixed hours
    // ran at the first one; one for every hour runs through the repeated hour as the clock shows it.
    // (node-cron picks one of the two by the sign of the zone's offset and skips the rest of the hour.)
    if (f.hours !== ALL_HOURS && repeated(d)) {
      t += 1000;
      continue;
    }
    return d;
  }
  return null;
}

/** The next `count` runs from now (storage reads its longest interval from them). */
export function nextRuns(expression: string, count: number, from = new Date()): Date[] {
  const f = parseCron(expression);
  if (f === null) {
    const task = nodeCron().createTask(expression, () => undefined);
    try {
      return task.getNextRuns(count);
    } finally {
      void task.destroy();
    }
  }
  const out: Date[] = [];
  let at: Date | null = from;
  while (out.length < count && (at = nextRun(f, at)) !== null) out.push(at);
  return out;
}

/** A run this late (the machine slept, the event loop was blocked) is skipped, as node-cron does. */
const TOLERANCE_MS = 1000;
/** Timers are re-armed at least daily, so a changed wall clock is noticed. */
const MAX_DELAY_MS = 86_400_000;

/**
 * Runs `fn` at each time the expression matches, from start() to destroy(). Nothing runs between
 * matches: one timer waits for the next one.
 */
export function createCronTask(expression: string, fn: () => unknown, options: CronOptions = {}): CronTask {
  const fields = parseCron(expression);
  if (fields === null) {
    const task = nodeCron().createTask(expression, fn, options);
    return { start: async () => task.start(), destroy: async () => task.destroy() };
  }
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let running: Promise<unknown> | null = null;
  const run = () => {
    if (options.noOverlap && running) return;
    try {
      const result = fn();
      if (result instanceof Promise) {
        const p: Promise<unknown> = result
          .catch(() => undefined)
          .finally(() => {
            if (running === p) running = null;
          });
        running = p;
      }
    } catch {
      // the callers' functions report their own errors; a throw must not stop the schedule
    }
  };
  const arm = (after: Date) => {
    if (stopped) return;
    const slot = nextRun(fields, after);
    if (slot === null) return;
    const wait = (at: number) => {
      timer = setTimeout(
        () => {
          const now = Date.now();
          if (now < slot.getTime()) return wait(now);
          if (now - slot.getTime() <= TOLERANCE_MS) run();
          timer = null;
          arm(new Date(Math.max(now - TOLERANCE_MS, slot.getTime())));
        },
        Math.min(slot.getTime() - at, MAX_DELAY_MS),
      );
    };
    wait(Date.now());
  };
  return {
    start() {
      stopped = false;
      if (timer === null) arm(new Date());
      return Promise.resolve();
    },
    destroy() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      return Promise.resolve();
    },
  };
}
