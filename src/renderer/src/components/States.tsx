// The designed states every view uses: loading, empty, and error (with what to do next).
import type { ReactNode } from 'react';
import type { ApiError } from '../../../core/api/reply';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty" role="status">
      <strong>{title}</strong>
      {children ? <div className="state-hint">{children}</div> : null}
    </div>
  );
}

export function ErrorState({ error, onRetry }: { error: ApiError; onRetry?: () => void }) {
  return (
    <div className="state state-error" role="alert">
      <strong>
        {error.code === 'unavailable'
          ? 'The agent cannot be reached'
          : error.code === 'unauthorized'
            ? 'Not signed in'
            : 'Something went wrong'}
      </strong>
      <div className="state-hint">{error.message}</div>
      {onRetry ? (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}
