// Settings › Prices: the current price of each service, and a new one to set from now on: per unit,
// graduated or volume tiers, a percentage of an amount in each event, or a rate per metadata value.
import { useId, useState, type FormEvent } from 'react';
import type { PriceRule, PriceSpec } from '../../../core/pricing';
import type { ServiceDefinition } from '../../../core/services';
import type { ApiError } from '../../../core/api/reply';
import { useApi, useTransport } from '../api';
import { Field, FieldFrame, messageFor } from '../components/Field';
import { ErrorState, Loading } from '../components/States';
import { singular, unitPrice } from '../format';

export function describeRule(rule: PriceRule | undefined, unit: string): string {
  if (!rule) return 'free';
  const spec = rule.spec;
  switch (spec.model) {
    case 'per_unit':
      return `${unitPrice(spec.unitPrice)} per ${singular(unit)}`;
    case 'package':
      return `${unitPrice(spec.packagePrice)} per ${spec.packageSize} ${unit}`;
    case 'tiered':
      return `tiered (${spec.tiers.length} tiers)`;
    case 'volume':
      return `volume (${spec.tiers.length} tiers)`;
    case 'percentage':
      return `${spec.rate}% of ${spec.amountField}${spec.fixedFee ? ` + ${unitPrice(spec.fixedFee)}` : ''} per event`;
    case 'dimension':
      return `per ${spec.field}: ${Object.entries(spec.rates)
        .map(([v, p]) => `${v} ${unitPrice(p)}`)
        .join(', ')}${spec.defaultRate ? `, others ${unitPrice(spec.defaultRate)}` : ''}`;
  }
}

export type Model = 'per_unit' | 'tiered' | 'volume' | 'percentage' | 'dimension';
export const MODELS: ReadonlyArray<[Model, string]> = [
  ['per_unit', 'Per unit'],
  ['tiered', 'Graduated tiers'],
  ['volume', 'Volume tiers'],
  ['percentage', 'Percentage of an amount'],
  ['dimension', 'Rate per metadata value'],
];

export interface PriceForm {
  model: Model;
  /** per_unit: the price; tiers: "upTo:price[:fee],…,inf:price"; percentage: the rate; dimension: "value=price,…". */
  main: string;
  /** percentage: the amount's metadata key; dimension: the metadata key. */
  field: string;
  /** percentage: fixed fee per event; dimension: the default rate (empty: refuse others). */
  extra: string;
  min: string;
  max: string;
}

/** The form as a spec; shapes only — the agent checks the numbers and names the field. */
export function specFrom(f: PriceForm): PriceSpec {
  const opt = (k: string, v: string) => (v.trim() === '' ? {} : { [k]: v.trim() });
  switch (f.model) {
    case 'per_unit':
      return { model: 'per_unit', unitPrice: f.main.trim() };
    case 'tiered':
    case 'volume':
      return {
        model: f.model,
        tiers: f.main.split(',').map((part) => {
          const [upTo = '', price = '', fee] = part.trim().split(':');
          return { upTo: upTo === 'inf' ? null : Number(upTo), unitPrice: price, ...(fee ? { flatFee: fee } : {}) };
        }),
      };
    case 'percentage':
      return {
        model: 'percentage',
        rate: f.main.trim().replace(/%$/, ''),
        amountField: f.field.trim() || 'amount',
        ...opt('fixedFee', f.extra),
        ...opt('minPerEvent', f.min),
        ...opt('maxPerEvent', f.max),
      };
    case 'dimension':
      return {
        model: 'dimension',
        field: f.field.trim(),
        rates: Object.fromEntries(
          f.main
            .split(',')
            .filter((x) => x.includes('='))
            .map((x) => [x.slice(0, x.lastIndexOf('=')).trim(), x.slice(x.lastIndexOf('=') + 1).trim()]),
        ),
        ...opt('defaultRate', f.extra),
      };
  }
}

/** The rule in force now: the latest one already effective. */
export function currentRule(rules: readonly PriceRule[], service: string, now = Date.now()): PriceRule | undefined {
  return rules.filter((r) => r.service === service && r.effectiveFrom <= now).sort((a, b) => b.effectiveFrom - a.effectiveFrom)[0];
}

export function PricesSection() {
  const [services] = useApi('services.list', {});
  const [prices, reload] = useApi('prices.list', {});
  if (services.status === 'loading' || prices.status === 'loading') return <Loading label="Loading prices…" />;
  if (services.status === 'error') return <ErrorState error={services.error} />;
  if (prices.status === 'error') return <ErrorState error={prices.error} onRetry={reload} />;
  return (
    <div className="settings-list" data-testid="prices">
      {services.data.map((s) => (
        <PriceRow key={s.name} service={s} rule={currentRule(prices.data, s.name)} onSaved={reload} />
      ))}
    </div>
  );
}

const EMPTY: PriceForm = { model: 'per_unit', main: '', field: '', extra: '', min: '', max: '' };

function PriceRow({ service, rule, onSaved }: { service: ServiceDefinition; rule: PriceRule | undefined; onSaved: () => void }) {
  const { client } = useTransport();
  const [form, setForm] = useState<PriceForm>(EMPTY);
  const modelId = useId();
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const set = (k: keyof PriceForm) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setSaved(false);
    const reply = await client.call('prices.set', { service: service.name, spec: specFrom(form) });
    setBusy(false);
    if (!reply.ok) return setError(reply.error);
    setError(null);
    setForm({ ...EMPTY, model: form.model });
    setSaved(true);
    onSaved();
  };
  const unit = singular(service.displayUnit);
  const mainLabel = {
    per_unit: `New price per ${unit}`,
    tiered: `Tiers (up to:price, … inf:price), in ${service.displayUnit}`,
    volume: `Tiers (up to:price[:flat fee], … inf:price), in ${service.displayUnit}`,
    percentage: 'Percent of the amount, e.g. 2.9',
    dimension: 'Rates per value, e.g. gpt-4o=0.0000025, gpt-4o-mini=0.00000015',
  }[form.model];
  const errorText = messageFor(error, ['price', 'spec', 'unitPrice', 'service']);
  return (
    <form className="settings-row" onSubmit={submit} aria-label={`Price of ${service.displayName}`} data-testid={`price-${service.name}`}>
      <div className="settings-row-head">
        <strong>{service.displayName}</strong>
        <span className="muted" data-testid="current-price">
          {describeRule(rule, service.displayUnit)}
        </span>
      </div>
      <FieldFrame id={modelId} label="Model">
        <select id={modelId} name="model" value={form.model} onChange={(e) => setForm({ ...EMPTY, model: e.target.value as Model })}>
          {MODELS.map(([m, label]) => (
            <option key={m} value={m}>
              {label}
            </option>
          ))}
        </select>
      </FieldFrame>
      <Field
        label={mainLabel}
        name="main"
        value={form.main}
        onChange={set('main')}
        error={errorText}
        hint="Applies to usage recorded from now on."
        required
      />
      {form.model === 'percentage' || form.model === 'dimension' ? (
        <Field
          label={form.model === 'percentage' ? 'Amount field in metadata' : 'Metadata field'}
          name="field"
          placeholder={form.model === 'percentage' ? 'amount' : 'model'}
          value={form.field}
          onChange={set('field')}
          required={form.model === 'dimension'}
        />
      ) : null}
      {form.model === 'percentage' || form.model === 'dimension' ? (
        <Field
          label={form.model === 'percentage' ? 'Fixed fee per event' : 'Default rate (empty: refuse other values)'}
          name="extra"
          inputMode="decimal"
          value={form.extra}
          onChange={set('extra')}
        />
      ) : null}
      {form.model === 'percentage' ? (
        <>
          <Field label="Minimum per event" name="min" inputMode="decimal" value={form.min} onChange={set('min')} />
          <Field label="Maximum per event" name="max" inputMode="decimal" value={form.max} onChange={set('max')} />
        </>
      ) : null}
      <button type="submit" disabled={busy || form.main.trim() === ''}>
        Set price
      </button>
      {saved ? (
        <span className="saved" role="status">
          Saved
        </span>
      ) : null}
    </form>
  );
}
