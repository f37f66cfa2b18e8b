// Events › an event's detail: void it with a reason. The event stays in the log, marked voided;
// reports, statements and rollups stop counting it, and the later events of its month are
// re-priced. A read key's dashboard is refused by the agent (403): the message says so.
import { useState, type FormEvent } from 'react';
import type { ApiError } from '../../../core/api/reply';
import { useTransport } from '../api';
import { Field, messageFor } from './Field';

export function VoidEvent({ id, onVoided }: { id: string; onVoided: () => void }) {
  const { client } = useTransport();
  const [reason, setReason] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    const reply = await client.call('events.void', { id, reason });
    setBusy(false);
    if (!reply.ok) return setError(reply.error);
    setError(null);
    onVoided();
  };
  const reasonError = messageFor(error, ['reason']);
  return (
    <form className="void-event" onSubmit={(e) => void submit(e)} aria-label="Void this event" data-testid="void-event">
      <Field
        label="Reason"
        name="reason"
        value={reason}
        placeholder="test traffic, counted twice, …"
        onChange={(e) => setReason(e.target.value)}
        error={reasonError}
        hint="Kept in the audit trail with who and when."
      />
      <button type="submit" className="secondary" disabled={busy}>
        Void event
      </button>
      {error && !reasonError ? (
        <span className="field-error" role="alert">
          {error.message}
        </span>
      ) : null}
    </form>
  );
}
