// Settings › Services: register a custom service with its unit and how a period's usage is one
// number (sum, count, max, latest, or distinct values of a metadata key), optionally its value
// property ($.tokens) and group-by keys. The agent checks every field and names the wrong one.
import { useId, useState, type FormEvent } from 'react';
import type { ApiError } from '../../../core/api/reply';
import { useApi, useTransport } from '../api';
import { Field, FieldFrame, messageFor } from '../components/Field';
import { formatAggregation } from '../../../core/aggregation';

const KINDS: ReadonlyArray<[string, string]> = [
  ['sum', 'Sum of quantities'],
  ['count', 'Count of events'],
  ['max', 'Maximum (a peak)'],
  ['latest', 'Latest reading (a gauge)'],
  ['unique', 'Distinct values of a metadata key'],
];

export interface ServiceForm {
  name: string;
  unit: string;
  kind: string;
  field: string;
  valueProperty: string;
  groupBy: string;
}

/** The form as the services.add argument. */
export function serviceInput(f: ServiceForm) {
  const keys = f.groupBy
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  return {
    name: f.name.trim(),
    displayUnit: f.unit.trim(),
    integerOnly: true,
    aggregation: f.kind === 'unique' ? `unique:${f.field.trim()}` : f.kind,
    ...(f.valueProperty.trim() ? { valueProperty: f.valueProperty.trim() } : {}),
    ...(keys.length > 0 ? { groupBy: keys } : {}),
  };
}

const EMPTY: ServiceForm = { name: '', unit: '', kind: 'sum', field: '', valueProperty: '', groupBy: '' };

export function ServicesSection() {
  const { client } = useTransport();
  const [services, reload] = useApi('services.list', {});
  const [form, setForm] = useState<ServiceForm>(EMPTY);
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const kindId = useId();
  const set = (k: keyof ServiceForm) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const reply = await client.call('services.add', { service: serviceInput(form) });
    if (!reply.ok) return setError(reply.error);
    setError(null);
    setSaved(form.name.trim());
    setForm(EMPTY);
    reload();
  };
  return (
    <div className="settings-list" data-testid="service-settings">
      {services.status === 'ok' ? (
        <ul className="muted" aria-label="Registered services">
          {services.data.map((s) => (
            <li key={s.name}>
              {s.name} · {s.displayUnit} · {formatAggregation(s)}
              {s.valueProperty ? ` of ${s.valueProperty}` : ''}
            </li>
          ))}
        </ul>
      ) : null}
      <form className="settings-row" onSubmit={submit} aria-label="Register a service">
        <Field
          label="Name"
          name="name"
          placeholder="mau"
          value={form.name}
          onChange={set('name')}
          error={messageFor(error, ['service.name', 'name'])}
          required
        />
        <Field
          label="Unit"
          name="unit"
          placeholder="users"
          value={form.unit}
          onChange={set('unit')}
          error={messageFor(error, ['service.displayUnit'])}
          required
        />
        <FieldFrame id={kindId} label="Usage of a period is" error={messageFor(error, ['service.aggregation', 'service.aggregationField'])}>
          <select id={kindId} name="aggregation" value={form.kind} onChange={set('kind')}>
            {KINDS.map(([k, label]) => (
              <option key={k} value={k}>
                {label}
              </option>
            ))}
          </select>
        </FieldFrame>
        {form.kind === 'unique' ? (
          <Field label="Metadata key counted" name="field" placeholder="user_id" value={form.field} onChange={set('field')} required />
        ) : null}
        <Field
          label="Value property (optional)"
          name="valueProperty"
          placeholder="$.tokens"
          value={form.valueProperty}
          onChange={set('valueProperty')}
          error={messageFor(error, ['service.valueProperty'])}
        />
        <Field
          label="Group by (optional)"
          name="groupBy"
          placeholder="model, region"
          value={form.groupBy}
          onChange={set('groupBy')}
          error={messageFor(error, ['service.groupBy'])}
        />
        <button type="submit" disabled={form.name.trim() === '' || form.unit.trim() === ''}>
          Register
        </button>
        {saved ? (
          <span className="saved" role="status">
            Registered {saved}
          </span>
        ) : null}
      </form>
    </div>
  );
}
