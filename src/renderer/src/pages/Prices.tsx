// Settings › Prices: the current price of each service, and a per-unit price to set from now on.
import { useState, type FormEvent } from 'react';
import type { PriceRule } from '../../../core/pricing';
import type { ServiceDefinition } from '../../../core/services';
import type { ApiError } from '../../../core/api/reply';
import { useApi, useTransport } from '../api';
import { Field, messageFor } from '../components/Field';
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

function PriceRow({ service, rule, onSaved }: { service: ServiceDefinition; rule: PriceRule | undefined; onSaved: () => void }) {
  const { client } = useTransport();
  const [price, setPrice] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setSaved(false);
    const reply = await client.call('prices.set', { service: service.name, spec: { model: 'per_unit', unitPrice: price.trim() } });
    setBusy(false);
    if (!reply.ok) return setError(reply.error);
    setError(null);
    setPrice('');
    setSaved(true);
    onSaved();
  };
  return (
    <form className="settings-row" onSubmit={submit} aria-label={`Price of ${service.displayName}`} data-testid={`price-${service.name}`}>
      <div className="settings-row-head">
        <strong>{service.displayName}</strong>
        <span className="muted" data-testid="current-price">
          {describeRule(rule, service.displayUnit)}
        </span>
      </div>
      <Field
        label={`New price per ${singular(service.displayUnit)}`}
        name="unitPrice"
        inputMode="decimal"
        placeholder="e.g. 0.0001"
        value={price}
        onChange={(e) => setPrice(e.target.value)}
        error={messageFor(error, ['price', 'spec', 'unitPrice', 'service'])}
        hint="Applies to usage recorded from now on."
        required
      />
      <button type="submit" disabled={busy || price.trim() === ''}>
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
