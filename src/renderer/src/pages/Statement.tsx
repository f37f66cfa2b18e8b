// A printable statement: customer, period, a line per service with its pricing, adjustments and
// credits below, every amount rounded half-even to the currency's minor unit and the total the sum
// of the printed lines, the exact total beneath (the same layout as `tally statement --format pdf`).
import { useState } from 'react';
import { printStatement } from '../../../analytics/statement-print';
import { useApi } from '../api';
import { Page } from '../components/Page';
import { ErrorState, Loading } from '../components/States';
import { StatementState } from '../components/StatementState';
import { currentCurrency } from '../format';
import type { PageProps } from './index';

function thisMonth(): string {
  return new Date().toISOString().slice(0, 7);
}

export function Statement({ period }: PageProps) {
  const [month, setMonth] = useState(period.kind === 'custom' ? period.from.slice(0, 7) : thisMonth());
  const [loaded, reload] = useApi('statement.month', { month });
  return (
    <Page title="Statement" testId="statement">
      <div className="no-print form-actions">
        <label>
          Month <input type="month" value={month} onChange={(e) => e.target.value && setMonth(e.target.value)} aria-label="Month" />
        </label>
        <button type="button" onClick={() => window.print()}>
          Print
        </button>
      </div>
      {loaded.status === 'loading' ? <Loading label="Loading the statement…" /> : null}
      {loaded.status === 'error' ? <ErrorState error={loaded.error} onRetry={reload} /> : null}
      {loaded.status === 'ok' ? <StatementState s={loaded.data} /> : null}
      {loaded.status === 'ok' ? <StatementBody s={loaded.data} /> : null}
    </Page>
  );
}

function StatementBody({ s }: { s: Parameters<typeof printStatement>[0] }) {
  const p = printStatement(s, currentCurrency());
  const last = new Date(Date.parse(s.to) - 1).toISOString().slice(0, 10);
  return (
    <section className="panel statement" aria-label={`Statement ${s.month}`}>
      <p>
        <strong>Customer:</strong> {s.customerId ?? 'all customers'} · <strong>Period:</strong> {s.from.slice(0, 10)} to {last} (UTC)
      </p>
      <div className="table-scroll">
        <table className="table" data-testid="statement-lines">
          <thead>
            <tr>
              <th scope="col">Service</th>
              <th scope="col">Customer</th>
              <th scope="col">Usage</th>
              <th scope="col">Pricing</th>
              <th scope="col" className="num">
                Amount
              </th>
            </tr>
          </thead>
          <tbody>
            {s.lines.map((l, i) => (
              <tr key={`${l.customerId}|${l.service}`}>
                <td>{l.service}</td>
                <td>{l.customerId}</td>
                <td>
                  {p.rows[i]![2]} {l.unit}
                </td>
                <td>{l.pricing}</td>
                <td className="num" title={`exact ${l.lineTotal}`} data-testid="line-amount">
                  {p.rows[i]![7]}
                </td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row" colSpan={4}>
                Total
              </th>
              <td className="num" data-testid="statement-total">
                {p.total}
              </td>
            </tr>
            {p.below.map(([label, amount]) => (
              <tr key={label}>
                <td colSpan={4}>{label}</td>
                <td className="num">{amount}</td>
              </tr>
            ))}
            {p.due ? (
              <tr>
                <th scope="row" colSpan={4}>
                  Amount due
                </th>
                <td className="num">{p.due}</td>
              </tr>
            ) : null}
          </tfoot>
        </table>
      </div>
      <p className="muted" data-testid="statement-note">
        Amounts are rounded half-even to the currency's minor unit; the total is the sum of the rounded lines.{' '}
        {p.note ? `${p.note.replace(/^exact/, 'Exact')}.` : 'The rounded lines add up to the exact total.'} GB = GiB (2^30 bytes).
      </p>
    </section>
  );
}
