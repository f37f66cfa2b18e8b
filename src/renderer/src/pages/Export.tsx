// Export: format, period and service → a file. The desktop app asks where with a save dialog;
// in a browser the agent writes to a path on its machine (which is this machine: loopback only).
import { useMemo, useState, type FormEvent } from 'react';
import type { ExportFileResult } from '../../../core/api/analytics';
import type { ApiError } from '../../../core/api/reply';
import type { ExportFormat } from '../../../preload/index';
import { useApi, useTransport } from '../api';
import { Field, messageFor } from '../components/Field';
import { Page } from '../components/Page';
import { PeriodPicker } from '../components/PeriodPicker';
import { formatCount, money } from '../format';
import { periodArgs, type PeriodChoice } from '../period';

export function Export({ period, onPeriod }: { period: PeriodChoice; onPeriod: (p: PeriodChoice) => void }) {
  const { client, bridge } = useTransport();
  const [services] = useApi('services.list', {});
  const [format, setFormat] = useState<ExportFormat>('csv');
  const [service, setService] = useState('');
  const args = useMemo(() => periodArgs(period), [period]);
  const suggested = `tally-${service || 'all'}-${args.month ?? `${args.from}_${args.to}`}.${format}`;
  const [path, setPath] = useState('');
  const [overwrite, setOverwrite] = useState(false);
  // In a browser the file can simply download: a GET the session cookie opens, streamed by the agent.
  const download = `/v1/export?${new URLSearchParams({ format, ...(args as Record<string, string>), ...(service ? { service } : {}) }).toString()}`;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [done, setDone] = useState<{ file: string; records: number; bytes: number; totalCost: string | null } | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setDone(null);
    const request = { format, ...args, ...(service ? { service } : {}) };
    if (bridge) {
      const reply = await bridge.saveExport(request);
      setBusy(false);
      if (!reply.ok) return setError(reply.error);
      if (reply.data)
        setDone({ file: reply.data.path, records: reply.data.records, bytes: reply.data.bytes, totalCost: reply.data.totalCost });
      return;
    }
    const reply = await client.call('export.file', { ...request, path: path.trim(), overwrite });
    setBusy(false);
    if (!reply.ok) return setError(reply.error);
    const r: ExportFileResult = reply.data;
    setDone({ file: r.file, records: r.records, bytes: r.bytes, totalCost: r.summary.total_cost });
  };

  return (
    <Page title="Export" testId="export">
      <form className="panel export-form" onSubmit={submit} aria-label="Export usage records">
        <div className="form-grid">
          <fieldset className="period-picker">
            <legend>Format</legend>
            {(['csv', 'json', 'xlsx'] as const).map((f) => (
              <label key={f} className={`seg ${format === f ? 'seg-on' : ''}`}>
                <input type="radio" name="format" value={f} checked={format === f} onChange={() => setFormat(f)} />
                {f.toUpperCase()}
              </label>
            ))}
          </fieldset>
          <div className="field">
            <label htmlFor="export-service">Service</label>
            <select id="export-service" value={service} onChange={(e) => setService(e.target.value)}>
              <option value="">All services</option>
              {services.status === 'ok'
                ? services.data.map((s) => (
                    <option key={s.name} value={s.name}>
                      {s.displayName}
                    </option>
                  ))
                : null}
            </select>
          </div>
        </div>
        <div className="field-block">
          <span className="field-label">Period</span>
          <PeriodPicker value={period} onChange={onPeriod} />
        </div>
        {bridge ? null : (
          <Field
            label="Save to (a path on this machine)"
            name="path"
            value={path}
            placeholder={`/home/you/Downloads/${suggested}`}
            onChange={(e) => setPath(e.target.value)}
            error={messageFor(error, ['path', 'overwrite'])}
            hint="An absolute path; the agent writes the file there."
            required
          />
        )}
        {bridge ? null : (
          <label className="toggle">
            <input type="checkbox" checked={overwrite} onChange={(e) => setOverwrite(e.target.checked)} /> Overwrite a file of that name
          </label>
        )}
        {bridge ? null : (
          <p>
            <a className="button secondary" href={download} download data-testid="download">
              Download {format.toUpperCase()}
            </a>{' '}
            <span className="muted">or save it on the agent's machine:</span>
          </p>
        )}
        {error && !messageFor(error, ['path', 'overwrite']) ? (
          <p className="field-error" role="alert">
            {error.message}
          </p>
        ) : null}
        <div>
          <button type="submit" disabled={busy}>
            {busy ? 'Exporting…' : bridge ? 'Export…' : 'Export'}
          </button>
        </div>
        {done ? (
          <p className="saved" role="status" data-testid="export-done">
            Saved {formatCount(done.records)} records ({formatCount(done.bytes)} bytes) to <code>{done.file}</code>
            {done.totalCost !== null ? <> · total {money(done.totalCost)}</> : null}
          </p>
        ) : null}
      </form>
    </Page>
  );
}
