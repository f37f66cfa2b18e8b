// Settings › Quotas: the limits alerts are measured against, a form to set one, and the seed's
// plans as ready sets. Invalid input is refused by the agent with the field named; nothing changes.
import { useState, type FormEvent } from 'react';
import type { ApiError } from '../../../core/api/reply';
import type { PlanName, QuotaPeriod } from '../../../quotas/quotas';
import { useApi, useTransport } from '../api';
import { Field, messageFor } from '../components/Field';
import { SortableTable } from '../components/SortableTable';
import { ErrorState, Loading } from '../components/States';
import { formatUsage } from '../format';

export function QuotasSection() {
  const { client } = useTransport();
  const [services] = useApi('services.list', {});
  const [quotas, reload] = useApi('quotas.list', {}, []);
  const [service, setService] = useState('api');
  const [period, setPeriod] = useState<QuotaPeriod>('month');
  const [limit, setLimit] = useState('');
  const [plan, setPlan] = useState<PlanName>('free');
  const [error, setError] = useState<ApiError | null>(null);
  const [status, setStatus] = useState<string | null>(null);

  const after = (reply: { ok: true } | { ok: false; error: ApiError }, done: string) => {
    if (!reply.ok) {
      setError(reply.error);
      setStatus(null);
      return;
    }
    setError(null);
    setStatus(done);
    reload();
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    // The text goes as typed when it is not a number, so the agent's message names what is wrong.
    const n = limit.trim() === '' ? Number.NaN : Number(limit);
    const value = Number.isFinite(n) ? n : (limit as unknown as number);
    const reply = await client.call('quotas.set', { service, period, limit: value });
    if (reply.ok) {
      setLimit('');
      // Check at once, so a quota already passed alerts now rather than at the next flush.
      await client.call('alerts.check', {});
    }
    after(reply, `Quota for ${service} set`);
  };

  const unit = services.status === 'ok' ? (services.data.find((s) => s.name === service)?.displayUnit ?? '') : '';
  return (
    <div data-testid="quotas">
      {quotas.status === 'loading' ? <Loading label="Loading quotas…" /> : null}
      {quotas.status === 'error' ? <ErrorState error={quotas.error} onRetry={reload} /> : null}
      {quotas.status === 'ok' && quotas.data.length === 0 ? <p className="muted">No quotas yet.</p> : null}
      {quotas.status === 'ok' && quotas.data.length > 0 ? (
        <SortableTable
          caption="Quotas"
          testId="quotas-table"
          rows={quotas.data}
          rowKey={(q) => `${q.customerId}-${q.service}-${q.period}`}
          initialSort={{ key: 'service', desc: false }}
          columns={[
            { key: 'service', label: 'Service', value: (q) => q.service },
            { key: 'period', label: 'Period', value: (q) => q.period },
            { key: 'limit', label: 'Limit', value: (q) => q.limit, render: (q) => `${formatUsage(q.limit)} ${q.unit}`, numeric: true },
            { key: 'customer', label: 'Customer', value: (q) => q.customerId },
            {
              key: 'remove',
              label: '',
              value: () => '',
              render: (q) => (
                <button
                  type="button"
                  className="secondary"
                  aria-label={`Remove the ${q.period} quota of ${q.service}`}
                  onClick={async () =>
                    after(
                      await client.call('quotas.remove', { service: q.service, period: q.period, customerId: q.customerId }),
                      `Quota for ${q.service} removed`,
                    )
                  }
                >
                  Remove
                </button>
              ),
            },
          ]}
        />
      ) : null}
      <form className="form-grid settings-form" onSubmit={submit} aria-label="Set a quota">
        <div className="field">
          <label htmlFor="quota-service">Service</label>
          <select id="quota-service" value={service} onChange={(e) => setService(e.target.value)}>
            {services.status === 'ok'
              ? services.data.map((s) => (
                  <option key={s.name} value={s.name}>
                    {s.displayName}
                  </option>
                ))
              : null}
          </select>
        </div>
        <div className="field">
          <label htmlFor="quota-period">Period</label>
          <select id="quota-period" value={period} onChange={(e) => setPeriod(e.target.value as QuotaPeriod)}>
            <option value="month">per month</option>
            <option value="day">per day</option>
          </select>
        </div>
        <Field
          label={`Limit${unit ? ` (${unit}${/\bGB\b/.test(unit) ? ', GB = GiB' : ''})` : ''}`}
          name="limit"
          inputMode="decimal"
          value={limit}
          onChange={(e) => setLimit(e.target.value)}
          error={messageFor(error, ['limit', 'service', 'period', 'customerId'])}
        />
        <button type="submit">Set quota</button>
      </form>
      <form
        className="form-grid settings-form"
        aria-label="Apply a plan"
        onSubmit={async (e) => {
          e.preventDefault();
          after(await client.call('quotas.applyPlan', { plan }), `Plan ${plan} applied`);
        }}
      >
        <div className="field">
          <label htmlFor="quota-plan">Plan</label>
          <select id="quota-plan" value={plan} onChange={(e) => setPlan(e.target.value as PlanName)}>
            <option value="free">Free (10 k requests, 1 GB storage, 10 GB bandwidth…)</option>
            <option value="starter">Starter (10 × free)</option>
            <option value="pro">Pro (1 M requests, 100 GB, 1 000 GB…)</option>
            <option value="enterprise">Enterprise (unlimited)</option>
          </select>
        </div>
        <button type="submit" className="secondary">
          Apply plan
        </button>
        {error && !messageFor(error, ['limit', 'service', 'period', 'customerId']) ? (
          <span className="field-error" role="alert">
            {error.message}
          </span>
        ) : null}
        {status ? (
          <span className="saved" role="status">
            {status}
          </span>
        ) : null}
      </form>
    </div>
  );
}
