// Settings › Maintenance schedule and Alert hooks. Each job (the seed's daily export, alert check,
// monthly archive, optimize, backup) has an on/off switch and a cron expression; the agent
// validates the schedule (a bad value names its field, shown beside it) and saves it to its config
// file, applied after a restart. Each job's last result is listed and a job can run now. Hooks are
// listed without their secrets, with the newest delivery attempts.
import { useEffect, useState, type FormEvent } from 'react';
import type { ApiError } from '../../../core/api/reply';
import type { JobRun, ScheduleSection, SettingsState } from '../../../core/api/settings';
import { useApi, useTransport } from '../api';
import { Field, messageFor } from '../components/Field';
import { ErrorState, Loading } from '../components/States';

const JOBS: ReadonlyArray<readonly [keyof ScheduleSection, string]> = [
  ['export', 'Report export'],
  ['alerts', 'Alert check'],
  ['archive', 'Archive old records'],
  ['optimize', 'Checkpoint and optimize'],
  ['backup', 'Backup'],
];

const when = (iso: string) => `${iso.slice(0, 19).replace('T', ' ')} UTC`;

export function ScheduleSection() {
  const { client } = useTransport();
  const [loaded, reload] = useApi('settings.get', {}, ['alerts.new']);
  const [draft, setDraft] = useState<ScheduleSection | null>(null);
  const [state, setState] = useState<SettingsState | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [ran, setRan] = useState<JobRun | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (loaded.status !== 'ok') return;
    setState(loaded.data);
    setDraft((d) => d ?? loaded.data.schedule);
  }, [loaded]);

  if (loaded.status === 'loading' || draft === null || state === null) {
    return loaded.status === 'error' ? <ErrorState error={loaded.error} onRetry={reload} /> : <Loading label="Loading the schedule…" />;
  }

  const edit = <J extends keyof ScheduleSection>(job: J, change: Partial<ScheduleSection[J]>) => {
    setDraft({ ...draft, [job]: { ...draft[job], ...change } });
    setSaved(null);
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    const reply = await client.call('schedule.set', { schedule: draft });
    setBusy(false);
    if (!reply.ok) return setError(reply.error);
    setError(null);
    setState(reply.data);
    setDraft(reply.data.schedule);
    setSaved(reply.data.restartNeeded ? 'Saved — restart the agent to apply' : 'Saved — already in effect');
  };
  const runNow = async (job: keyof ScheduleSection) => {
    setBusy(true);
    const reply = await client.call('schedule.run', { job });
    setBusy(false);
    if (!reply.ok) return setError(reply.error);
    setRan(reply.data);
    reload();
  };
  const fieldError = (f: string) => (error?.field === undefined ? null : messageFor(error, [`schedule.${f}`]));
  const last = new Map(state.lastRuns.map((r) => [r.job, r]));

  return (
    <div data-testid="schedule">
      <p className="muted">
        Jobs run inside the agent on their cron expressions; a saved change applies after the agent restarts. Saved in{' '}
        <code>{state.configFile}</code>.
      </p>
      <form className="settings-form" onSubmit={submit} aria-label="Maintenance schedule">
        <div className="table-scroll">
          <table className="table" data-testid="schedule-table">
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">On</th>
                <th scope="col">Cron</th>
                <th scope="col">Last result</th>
                <th scope="col" aria-label="Run now" />
              </tr>
            </thead>
            <tbody>
              {JOBS.map(([job, label]) => {
                const r = last.get(job);
                return (
                  <tr key={job} data-testid={`job-${job}`}>
                    <th scope="row">{label}</th>
                    <td>
                      <input
                        type="checkbox"
                        aria-label={`${label} on`}
                        checked={draft[job].enabled}
                        onChange={(e) => edit(job, { enabled: e.target.checked })}
                      />
                    </td>
                    <td>
                      <Field
                        label={`${label} cron`}
                        value={draft[job].cron}
                        onChange={(e) => edit(job, { cron: e.target.value })}
                        error={fieldError(`${job}.cron`)}
                      />
                    </td>
                    <td data-testid="last-result">{r ? `${r.ok ? '✓' : '✗'} ${when(r.finishedAt)} · ${r.result}` : 'not run yet'}</td>
                    <td>
                      <button type="button" className="secondary" disabled={busy} onClick={() => void runNow(job)}>
                        Run now
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
        <fieldset className="form-grid">
          <legend>Export and archive</legend>
          <label>
            Export format{' '}
            <select value={draft.export.format} onChange={(e) => edit('export', { format: e.target.value as 'csv' | 'json' | 'xlsx' })}>
              <option value="csv">CSV</option>
              <option value="json">JSON</option>
              <option value="xlsx">XLSX</option>
            </select>
          </label>
          <label>
            Export period{' '}
            <select
              value={draft.export.period}
              onChange={(e) => edit('export', { period: e.target.value as 'previous-day' | 'previous-month' })}
            >
              <option value="previous-day">the previous day</option>
              <option value="previous-month">the previous month</option>
            </select>
          </label>
          <Field
            label="Export folder (absolute; empty: exports beside the database)"
            value={draft.export.folder ?? ''}
            onChange={(e) => edit('export', { folder: e.target.value.trim() === '' ? null : e.target.value })}
            error={fieldError('export.folder')}
          />
          <Field
            label="Archive records older than (days)"
            type="number"
            min={1}
            value={draft.archive.retentionDays}
            onChange={(e) => edit('archive', { retentionDays: Number(e.target.value) })}
            error={fieldError('archive.retentionDays')}
          />
          <Field
            label="Backups to keep"
            type="number"
            min={1}
            value={draft.backup.keep}
            onChange={(e) => edit('backup', { keep: Number(e.target.value) })}
            error={fieldError('backup.keep')}
          />
        </fieldset>
        <div className="form-actions">
          <button type="submit" disabled={busy}>
            Save schedule
          </button>
          {saved ? (
            <span className="saved" role="status">
              {saved}
            </span>
          ) : null}
          {error && !JOBS.some(([j]) => fieldError(`${j}`)) ? (
            <span className="field-error" role="alert">
              {error.message}
            </span>
          ) : null}
          {ran ? (
            <span className="saved" role="status" data-testid="ran">
              {ran.job}: {ran.ok ? 'done' : 'failed'} — {ran.result}
            </span>
          ) : null}
        </div>
      </form>
    </div>
  );
}

export function HooksSection() {
  const [loaded, reload] = useApi('settings.get', {}, ['alerts.new']);
  if (loaded.status === 'loading') return <Loading label="Loading alert hooks…" />;
  if (loaded.status === 'error') return <ErrorState error={loaded.error} onRetry={reload} />;
  const { hooks, deliveries } = loaded.data;
  return (
    <div data-testid="hooks">
      {hooks.length === 0 ? (
        <p className="muted">
          No hooks. Add signed webhooks (<code>hooks.webhooks</code>: name, url, secret) or commands (<code>hooks.commands</code>: name,
          command) to the config file; each new alert is posted as JSON with a <code>Tally-Signature</code> header, or given to the command
          on stdin.
        </p>
      ) : (
        <ul className="plain-list">
          {hooks.map((h) => (
            <li key={h.name}>
              <strong>{h.name}</strong> · {h.kind} · <code>{h.target}</code> · {h.levels ? h.levels.join(', ') : 'all levels'}
            </li>
          ))}
        </ul>
      )}
      <div className="table-scroll">
        <table className="table" data-testid="deliveries">
          <caption>Delivery log, newest first</caption>
          <thead>
            <tr>
              <th scope="col">When (UTC)</th>
              <th scope="col">Hook</th>
              <th scope="col">Alert</th>
              <th scope="col">Attempt</th>
              <th scope="col">Outcome</th>
            </tr>
          </thead>
          <tbody>
            {deliveries.length === 0 ? (
              <tr>
                <td colSpan={5}>No deliveries yet.</td>
              </tr>
            ) : (
              deliveries.map((d, i) => (
                <tr key={i}>
                  <td>{when(d.at)}</td>
                  <td>{d.hook}</td>
                  <td>#{d.alertId}</td>
                  <td>{d.attempt}</td>
                  <td>
                    {d.outcome}
                    {d.status !== null ? ` (${d.status})` : ''}
                    {d.error ? ` — ${d.error}` : ''}
                  </td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}
