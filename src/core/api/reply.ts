// The reply shape every transport (Electron IPC, HTTP) uses for the typed API.
import type { ErrorCode } from '../errors';

export interface ApiError {
  readonly code: ErrorCode;
  readonly message: string;
  /** The input field that was wrong, for invalid_input. */
  readonly field?: string;
}

export type ApiReply<T> = { readonly ok: true; readonly data: T } | { readonly ok: false; readonly error: ApiError };
