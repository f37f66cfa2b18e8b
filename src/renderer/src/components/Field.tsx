// A labelled input whose error (the agent's message naming the field) sits right beside it.
import { useId, type InputHTMLAttributes, type ReactNode } from 'react';

/** The label, the control and its message (the agent's error naming the field, or a hint). */
export function FieldFrame({
  id,
  label,
  error,
  hint,
  children,
}: {
  id: string;
  label: string;
  error?: string | null;
  hint?: string;
  children: ReactNode;
}) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children}
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

/** The aria attributes that tie a control to its FieldFrame message. */
export function describedBy(id: string, error?: string | null, hint?: string): { 'aria-invalid'?: true; 'aria-describedby'?: string } {
  return { 'aria-invalid': error ? true : undefined, 'aria-describedby': error ? `${id}-error` : hint ? `${id}-hint` : undefined };
}

export function Field({
  label,
  error,
  hint,
  ...input
}: { label: string; error?: string | null; hint?: string } & InputHTMLAttributes<HTMLInputElement>) {
  const id = useId();
  return (
    <FieldFrame id={id} label={label} error={error} hint={hint}>
      <input id={id} {...describedBy(id, error, hint)} {...input} />
    </FieldFrame>
  );
}

/** The message for one field out of an API error, when the error names it (or names nothing). */
export function messageFor(error: { message: string; field?: string } | null, fields: readonly string[]): string | null {
  if (!error) return null;
  if (
    error.field === undefined ||
    fields.some((f) => error.field === f || error.field!.startsWith(`${f}.`) || error.field!.startsWith(`${f}[`))
  )
    return error.message;
  return null;
}
