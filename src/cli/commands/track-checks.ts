// Sanity rules for `tally track`: arguments in the wrong order or the wrong place are refused
// with the expected order, instead of being stored as nonsense ("GET" as an endpoint, 24 bytes
// held for 612 000 years). Each error names the argument and shows a correct call.
import { invalid, TallyError } from '../../core/errors';

/** The expected order and an example, per `tally track` subcommand. */
export const TRACK_USAGE: Readonly<Record<string, string>> = {
  api: 'tally track api <endpoint> <method> <status>, e.g. tally track api /users GET 200',
  storage: 'tally track storage <bytes> <hours>, e.g. tally track storage 5368709120 24',
  bandwidth: 'tally track bandwidth <bytes> <direction>, e.g. tally track bandwidth 524288000 egress',
  compute: 'tally track compute <cpu_seconds> [metadata], e.g. tally track compute 3600 \'{"instance":"t3.medium"}\'',
  database: 'tally track database <type> <duration_ms>, e.g. tally track database SELECT 45',
  function: 'tally track function <name> <duration_ms> <memory_mb>, e.g. tally track function sendEmail 120 256',
};

/** RFC 9110 method: a token, by convention upper case ("GET", "PROPFIND"). */
const METHOD = /^[A-Za-z][A-Za-z-]{0,31}$/;
/** A year of hours (366 days): longer holdings are far more likely swapped arguments than real. */
export const MAX_STORAGE_HOURS = 366 * 24;
const SQL_TYPE = /^[A-Za-z][A-Za-z_ ]{0,31}$/;

export function checkApiArgs(endpoint: string, method: string): void {
  if (!endpoint.startsWith('/')) throw invalid('endpoint', `"${endpoint}" must start with /`);
  if (!METHOD.test(method)) throw invalid('method', `"${method}" is not an HTTP method (GET, POST, PUT, PATCH, DELETE, …)`);
}

export function checkStorageArgs(bytes: number, hours: number): void {
  if (hours > MAX_STORAGE_HOURS) throw invalid('hours', `${hours} is more than a year (${MAX_STORAGE_HOURS} hours); bytes come first`);
  if (hours > 0 && bytes > 0 && bytes < 1024 && hours >= 1024 * 1024)
    throw invalid('bytes', `${bytes} bytes for ${hours} hours looks swapped; bytes come first`);
}

export function checkDatabaseArgs(type: string): void {
  if (!SQL_TYPE.test(type)) throw invalid('type', `"${type}" is not a query type (SELECT, INSERT, UPDATE, …)`);
}

/** Adds the expected order to an argument error of `tally track <kind>`. */
export function withUsage(kind: string, err: unknown): unknown {
  const usage = TRACK_USAGE[kind];
  if (!usage || !(err instanceof TallyError) || err.code !== 'invalid_input' || err.field === undefined) return err;
  return invalid(err.field, `${err.problem ?? err.message} (expected: ${usage})`, err);
}
