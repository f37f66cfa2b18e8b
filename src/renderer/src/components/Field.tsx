// A labelled input whose error (the agent's message naming the field) sits right beside it.
import { useId, type InputHTMLAttributes } from 'react';

export function Field({ label, error, hint, ...input }: { label: string; error?: string | null; hint?: string } & InputHTMLAttributes<HTMLInputElement>) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} aria-invalid={error ? true : undefined} aria-describedby={error ? `${id}-error` : hint ? `${id}-hint` : undefined} {...input} />
      {error ? (
        <span className="field-error" id={`${id}-error`} role="alert">
          {error}
        </span>
      ) : hint ? (
        <span className="field-hint" id={`${id}-hint`}>
          {hint}
        </span>
      ) : null}
    </div>
  );
}

/** The message for one field out of an API error, when the error names it (or names nothing). */
export function messageFor(error: { message: string; field?: string } | null, fields: readonly string[]): string | null {
  if (!error) return null;
  if (error.field === undefined || fields.some((f) => error.field === f || error.field!.startsWith(`${f}.`) || error.field!.startsWith(`${f}[`))) return error.message;
  return null;
}
