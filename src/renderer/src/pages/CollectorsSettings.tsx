// Settings › Collectors: what each collector measures and when. The agent validates the section
// (a bad value names its field, shown beside it) and saves it to its config file; collectors and
// their schedules are set up when the agent starts, so a saved change applies after a restart.
import { useEffect, useId, useState, type FormEvent, type TextareaHTMLAttributes } from 'react';
import type { CollectorsPatch, CollectorsSection } from '../../../core/api/collectors';
import type { ApiError } from '../../../core/api/reply';
import { useApi, useTransport } from '../api';
import { describedBy, Field, FieldFrame, messageFor } from '../components/Field';
import { ErrorState, Loading } from '../components/States';

interface Draft {
  storage: { enabled: boolean; schedule: string; paths: string; volumes: string };
  bandwidth: { enabled: boolean; schedule: string; include: string; exclude: string };
  compute: { enabled: boolean; schedule: string; host: boolean };
}

const lines = (list: readonly string[]) => list.join('\n');
const fromLines = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');

function toDraft(c: CollectorsSection): Draft {
  return {
    storage: { enabled: c.storage.enabled, schedule: c.storage.schedule, paths: lines(c.storage.paths), volumes: lines(c.storage.volumes) },
    bandwidth: {
      enabled: c.bandwidth.enabled,
      schedule: c.bandwidth.schedule,
      include: lines(c.bandwidth.include),
      exclude: lines(c.bandwidth.exclude),
    },
    compute: { enabled: c.compute.enabled, schedule: c.compute.schedule, host: c.compute.host },
  };
}

function toPatch(d: Draft): CollectorsPatch {
  return {
    storage: {
      enabled: d.storage.enabled,
      schedule: d.storage.schedule.trim(),
      paths: fromLines(d.storage.paths),
      volumes: fromLines(d.storage.volumes),
    },
    bandwidth: {
      enabled: d.bandwidth.enabled,
      schedule: d.bandwidth.schedule.trim(),
      include: fromLines(d.bandwidth.include),
      exclude: fromLines(d.bandwidth.exclude),
    },
    compute: { enabled: d.compute.enabled, schedule: d.compute.schedule.trim(), host: d.compute.host },
  };
}

/** A textarea of one entry per line, with the agent's message for it beside it, like Field. */
function LinesField({
  label,
  error,
  hint,
  ...area
}: { label: string; error?: string | null; hint?: string } & TextareaHTMLAttributes<HTMLTextAreaElement>) {
  const id = useId();
  return (
    <FieldFrame id={id} label={label} error={error} hint={hint}>
      <textarea
        id={id}
        rows={Math.min(8, Math.max(3, String(area.value ?? '').split('\n').length))}
        spellCheck={false}
        {...describedBy(id, error, hint)}
        {...area}
      />
    </FieldFrame>
  );
}

function Toggle({ label, checked, onChange }: { label: string; checked: boolean; onChange: (checked: boolean) => void }) {
  return (
    <label className="toggle">
      <input type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} /> {label}
    </label>
  );
}

const SHOWN_FIELDS = [
  'collectors.storage.enabled',
  'collectors.storage.schedule',
  'collectors.storage.paths',
  'collectors.storage.volumes',
  'collectors.bandwidth.enabled',
  'collectors.bandwidth.schedule',
  'collectors.bandwidth.include',
  'collectors.bandwidth.exclude',
  'collectors.compute.enabled',
  'collectors.compute.schedule',
  'collectors.compute.host',
];

export function CollectorsSection() {
  const { client } = useTransport();
  const [loaded, reload] = useApi('collectors.get', {}, []);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [current, setCurrent] = useState<CollectorsSection | null>(null);
  const [restartNeeded, setRestartNeeded] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (loaded.status !== 'ok' || draft !== null) return;
    setDraft(toDraft(loaded.data.config));
    setCurrent(loaded.data.config);
    setRestartNeeded(loaded.data.restartNeeded);
  }, [loaded, draft]);

  if (loaded.status === 'loading' || (loaded.status === 'ok' && draft === null)) return <Loading label="Loading collector settings…" />;
  if (loaded.status === 'error') return <ErrorState error={loaded.error} onRetry={reload} />;
  if (draft === null || current === null) return null;

  const edit = <C extends keyof Draft>(collector: C, change: Partial<Draft[C]>) => {
    setDraft({ ...draft, [collector]: { ...draft[collector], ...change } });
    setSaved(null);
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setSaved(null);
    const reply = await client.call('collectors.set', { collectors: toPatch(draft) });
    setBusy(false);
    if (!reply.ok) return setError(reply.error);
    setError(null);
    setDraft(toDraft(reply.data.config));
    setCurrent(reply.data.config);
    setRestartNeeded(reply.data.restartNeeded);
    setSaved(reply.data.restartNeeded ? 'Saved — restart the agent to apply' : 'Saved — already in effect');
  };
  const fieldError = (f: string) => (error?.field === undefined ? null : messageFor(error, [`collectors.${f}`]));
  // A message for a field without an input here (compute.cgroups, say) goes beside the Save button.
  const otherError = error && (error.field === undefined || !SHOWN_FIELDS.some((f) => messageFor(error, [f]))) ? error.message : null;
  const { storage, bandwidth, compute } = draft;
  const cronHint = 'Cron: minute hour day month weekday, e.g. "*/5 * * * *"';

  return (
    <div data-testid="collectors">
      <p className="muted">
        Collectors and their schedules are set up when the agent starts: a saved change applies after the agent restarts. Saved in{' '}
        <code data-testid="config-file">{loaded.status === 'ok' ? loaded.data.configFile : ''}</code>.
      </p>
      {restartNeeded && !saved ? (
        <p className="field-hint" role="status" data-testid="restart-needed">
          These settings are saved but not in use yet: restart the agent to apply them.
        </p>
      ) : null}
      <form className="settings-form collectors-form" onSubmit={submit} aria-label="Collector settings">
        <fieldset className="form-grid">
          <legend>Storage</legend>
          <Toggle label="Measure storage" checked={storage.enabled} onChange={(enabled) => edit('storage', { enabled })} />
          <Field
            label="Storage schedule"
            name="storage-schedule"
            value={storage.schedule}
            onChange={(e) => edit('storage', { schedule: e.target.value })}
            error={fieldError('storage.schedule')}
            hint={cronHint}
          />
          <LinesField
            label="Folders to measure (one absolute path per line)"
            name="storage-paths"
            value={storage.paths}
            placeholder="/var/lib/app"
            onChange={(e) => edit('storage', { paths: e.target.value })}
            error={fieldError('storage.paths')}
          />
          <LinesField
            label="Volumes (one mount point per line)"
            name="storage-volumes"
            value={storage.volumes}
            placeholder="/"
            onChange={(e) => edit('storage', { volumes: e.target.value })}
            error={fieldError('storage.volumes')}
          />
        </fieldset>
        <fieldset className="form-grid">
          <legend>Bandwidth</legend>
          <Toggle label="Measure bandwidth" checked={bandwidth.enabled} onChange={(enabled) => edit('bandwidth', { enabled })} />
          <Field
            label="Bandwidth schedule"
            name="bandwidth-schedule"
            value={bandwidth.schedule}
            onChange={(e) => edit('bandwidth', { schedule: e.target.value })}
            error={fieldError('bandwidth.schedule')}
            hint={cronHint}
          />
          <LinesField
            label="Interfaces to count (one pattern per line; empty: all)"
            name="bandwidth-include"
            value={bandwidth.include}
            placeholder="eth*"
            onChange={(e) => edit('bandwidth', { include: e.target.value })}
            error={fieldError('bandwidth.include')}
          />
          <LinesField
            label="Interfaces to skip (one pattern per line)"
            name="bandwidth-exclude"
            value={bandwidth.exclude}
            placeholder="docker*"
            onChange={(e) => edit('bandwidth', { exclude: e.target.value })}
            error={fieldError('bandwidth.exclude')}
          />
        </fieldset>
        <fieldset className="form-grid">
          <legend>Compute</legend>
          <Toggle label="Measure compute" checked={compute.enabled} onChange={(enabled) => edit('compute', { enabled })} />
          <Field
            label="Compute schedule"
            name="compute-schedule"
            value={compute.schedule}
            onChange={(e) => edit('compute', { schedule: e.target.value })}
            error={fieldError('compute.schedule')}
            hint={cronHint}
          />
          <Toggle label="Whole host's CPU time" checked={compute.host} onChange={(host) => edit('compute', { host })} />
          <div className="field-block">
            <span className="field-label">Cgroups and processes (edit in the config file)</span>
            <pre className="collectors-json" data-testid="compute-targets">
              {JSON.stringify(
                { cgroupRoot: current.compute.cgroupRoot, cgroups: current.compute.cgroups, processes: current.compute.processes },
                null,
                2,
              )}
            </pre>
          </div>
        </fieldset>
        <div className="form-grid">
          <button type="submit" disabled={busy}>
            Save collectors
          </button>
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
        </div>
      </form>
    </div>
  );
}
