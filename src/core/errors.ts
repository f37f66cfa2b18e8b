// One error type for the whole product. `code` is what callers branch on and what users see
// messages keyed by; `field` names the input that was wrong, when one was.
export type ErrorCode =
  | 'invalid_input' // the caller sent something wrong; `field` says what
  | 'not_found'
  | 'conflict'
  | 'queue_full' // the writer's queue is full: retry after `retryAfterMs`
  | 'locked' // another writer holds the database
  | 'unsupported' // the environment cannot do this (old SQLite, database from the future)
  | 'unauthorized'
  | 'forbidden'
  | 'unavailable' // a dependency (agent, endpoint) cannot be reached
  | 'internal';

export class TallyError extends Error {
  override readonly name = 'TallyError';
  readonly code: ErrorCode;
  readonly field: string | undefined;
  /** What is wrong with `field`, without the field's name: errors are rebuilt from these, never edited. */
  readonly problem: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { field?: string; problem?: string; cause?: unknown; retryAfterMs?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.field = options.field;
    this.problem = options.problem;
    this.retryAfterMs = options.retryAfterMs;
  }

  toJSON(): { code: ErrorCode; message: string; field?: string } {
    return this.field === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, field: this.field };
  }
}

/** An input error that names its field: `invalid('quantity', 'must be ≥ 0')` → "quantity: must be ≥ 0". */
export function invalid(field: string, problem: string, cause?: unknown): TallyError {
  return new TallyError('invalid_input', `${field}: ${problem}`, { field, problem, cause });
}

/** The same input error, blamed on the field as the caller named it ("events[2].qty" for "records[2].quantity"). */
export function renamed(err: TallyError, field: string): TallyError {
  return invalid(field, err.problem ?? err.message, err);
}

/** Anything that is not a TallyError becomes `internal`, keeping the original as the cause. */
export function toTallyError(err: unknown): TallyError {
  if (err instanceof TallyError) return err;
  const damaged = databaseProblem(err);
  if (damaged) return damaged;
  const message = err instanceof Error ? err.message : String(err);
  return new TallyError('internal', message, { cause: err });
}

/**
 * SQLite's codes for a damaged file or read-only media, in words that say what to do, so no
 * command ever answers "internal error: database disk image is malformed".
 */
export function databaseProblem(err: unknown, file?: string): TallyError | null {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return null;
  const what = file ? `the database ${file}` : 'the database';
  const sqlite = err instanceof Error ? err.message : code;
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return new TallyError(
      'unavailable',
      `${what} is damaged (SQLite: ${sqlite}). Stop the agent and restore it from a backup (\`tally restore FILE\`, made by \`tally backup\`) ` +
        'or bring old records back from an archive (`tally archive restore FILE`); `tally doctor` checks the file.',
      { cause: err },
    );
  }
  if (code.startsWith('SQLITE_READONLY')) {
    return new TallyError(
      'unavailable',
      `${what} cannot be written (SQLite: ${sqlite}): the file, its folder or the disk is read-only. ` +
        'Check the permissions of the data folder and that its disk is mounted read-write.',
      { cause: err },
    );
  }
  return null;
}
