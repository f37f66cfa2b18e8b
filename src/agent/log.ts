// Structured logs: one JSON object per line on stdout, which journald and launchd keep as is
// (`{"level":"info","time":"…","msg":"…", …fields}`).
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function jsonLogger(
  write: (line: string) => void = (l) => void process.stdout.write(l),
  minLevel: LogLevel = 'info',
  clock: () => number = Date.now,
): Logger {
  const emit =
    (level: LogLevel) =>
    (msg: string, fields: Record<string, unknown> = {}) => {
      if (RANK[level] < RANK[minLevel]) return;
      let line: string;
      try {
        line = JSON.stringify({ level, time: new Date(clock()).toISOString(), msg, ...fields });
      } catch {
        line = JSON.stringify({ level, time: new Date(clock()).toISOString(), msg, note: 'fields were not serialisable' });
      }
      write(line + '\n');
    };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/** Discards everything (tests, --quiet). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
