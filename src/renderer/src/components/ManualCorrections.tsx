// Settings › Sync: corrections a sync target could not take back (OpenMeter, Lago, or Stripe past
// its 24-hour window). Each needs a manual adjustment at the vendor; "Mark done" records that a
// person made it, and the row leaves the list.
import { useState } from 'react';
import type { ApiError } from '../../../core/api/reply';
import { useApi, useTransport } from '../api';
import { ErrorState } from './States';

export function ManualCorrections() {
  const { client } = useTransport();
  const [list, reload] = useApi('sync.corrections.list', {}, ['sync.status', 'records.flushed']);
  const [error, setError] = useState<ApiError | null>(null);

  const done = async (target: string, seq: number) => {
    const reply = await client.call('sync.corrections.done', { target, seq });
    setError(reply.ok ? null : reply.error);
    reload();
  };

  if (list.status === 'error') return <ErrorState error={list.error} onRetry={reload} />;
  if (list.status !== 'ok' || list.data.length === 0) return null;
  return (
    <section className="manual-corrections" data-testid="manual-corrections" aria-labelledby="manual-corrections-title">
      <h3 id="manual-corrections-title">Needs a manual adjustment at the vendor</h3>
      <table className="table">
        <caption className="sr-only">Corrections a sync target could not take back</caption>
        <thead>
          <tr>
            <th scope="col">Target</th>
            <th scope="col">Event</th>
            <th scope="col">Customer · service</th>
            <th scope="col" className="num">
              Amount
            </th>
            <th scope="col">Reason</th>
            <th scope="col">Why by hand</th>
            <th scope="col">
              <span className="sr-only">Action</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {list.data.map((c) => (
            <tr key={`${c.target}-${c.seq}`}>
              <td>{c.target}</td>
              <td>
                <code>{c.id}</code> <span className="muted">{c.kind === 'amend' ? 'amended' : 'voided'}</span>
              </td>
              <td>
                {c.customer} · {c.service}
              </td>
              <td className="num">{c.amount}</td>
              <td>{c.reason}</td>
              <td className="muted">{c.note}</td>
              <td>
                <button type="button" onClick={() => void done(c.target, c.seq)}>
                  Mark done
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {error ? (
        <span className="field-error" role="alert">
          {error.message}
        </span>
      ) : null}
    </section>
  );
}
