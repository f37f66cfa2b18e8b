// Settings › Sync: where records are delivered, each target's state, and a form to add or change
// one. Tokens go in and never come back: a set token shows as "set".
import { useState, type FormEvent } from 'react';
import type { ApiError } from '../../../core/api/reply';
import { useApi, useTransport } from '../api';
import { Field, messageFor } from '../components/Field';
import { ErrorState, Loading } from '../components/States';
import { ManualCorrections } from '../components/ManualCorrections';
import { formatCount } from '../format';

const KINDS = ['openmeter', 'lago', 'stripe', 'tally'] as const;

export function SyncSection() {
  const { client } = useTransport();
  const [status, reload] = useApi('sync.status', {}, ['sync.status', 'records.flushed']);
  const [name, setName] = useState('');
  const [kind, setKind] = useState<(typeof KINDS)[number]>('openmeter');
  const [url, setUrl] = useState('');
  const [token, setToken] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const reply = await client.call('sync.targets.set', {
      target: { name: name.trim(), kind, url: url.trim(), ...(token ? { token } : {}) },
    });
    if (!reply.ok) {
      setError(reply.error);
      setSaved(null);
      return;
    }
    setError(null);
    setToken('');
    setSaved(`Target ${name.trim()} saved`);
    reload();
  };
  const fieldError = (f: string) => messageFor(error, [`target.${f}`, f]);
  const otherError = error && !['name', 'kind', 'url', 'token'].some((f) => fieldError(f)) ? error.message : null;

  return (
    <div data-testid="sync">
      {status.status === 'loading' ? <Loading label="Loading sync targets…" /> : null}
      {status.status === 'error' ? <ErrorState error={status.error} onRetry={reload} /> : null}
      {status.status === 'ok' && status.data.length === 0 ? (
        <p className="muted">Records stay on this machine: no sync target is set.</p>
      ) : null}
      {status.status === 'ok' && status.data.length > 0 ? (
        <table className="table">
          <caption className="sr-only">Sync targets</caption>
          <thead>
            <tr>
              <th scope="col">Target</th>
              <th scope="col">State</th>
              <th scope="col" className="num">
                Pending
              </th>
              <th scope="col" className="num">
                Rejected
              </th>
              <th scope="col">Last success</th>
              <th scope="col">Last error</th>
            </tr>
          </thead>
          <tbody>
            {status.data.map((t) => (
              <tr key={t.name}>
                <td>
                  <strong>{t.name}</strong>{' '}
                  <span className="muted">
                    {t.kind} · {t.url}
                  </span>
                </td>
                <td>{!t.enabled ? 'disabled' : t.stopped ? `stopped: ${t.stopped}` : t.pending > 0 ? 'sending' : 'up to date'}</td>
                <td className="num">{formatCount(t.pending)}</td>
                <td className="num">{formatCount(t.rejected)}</td>
                <td>{t.lastSuccess ? new Date(t.lastSuccess).toLocaleString() : '—'}</td>
                <td>{t.lastError ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <ManualCorrections />
      <form className="form-grid settings-form" onSubmit={submit} aria-label="Add or change a sync target">
        <Field
          label="Name"
          name="name"
          value={name}
          placeholder="billing"
          onChange={(e) => setName(e.target.value)}
          error={fieldError('name')}
        />
        <div className="field">
          <label htmlFor="sync-kind">Kind</label>
          <select id="sync-kind" value={kind} onChange={(e) => setKind(e.target.value as (typeof KINDS)[number])}>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </div>
        <Field
          label="Endpoint URL"
          name="url"
          value={url}
          placeholder="https://openmeter.example.com"
          onChange={(e) => setUrl(e.target.value)}
          error={fieldError('url')}
        />
        <Field
          label="Token"
          name="token"
          type="password"
          autoComplete="off"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          error={fieldError('token')}
          hint="Leave empty to keep the stored one."
        />
        <button type="submit">Save target</button>
        {otherError ? (
          <span className="field-error" role="alert">
            {otherError}
          </span>
        ) : null}
        {saved ? (
          <span className="saved" role="status">
            {saved}
          </span>
        ) : null}
      </form>
    </div>
  );
}
