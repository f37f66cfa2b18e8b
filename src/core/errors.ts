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
  const message = err instanceof Error ? err.message : String(err);
  return new TallyError('internal', message, { cause: err });
}
