// Prepaid credit on the Overview: what each customer holding grants has left, refreshed as usage
// is priced (useApi reloads after every flush). Under a customer scope (the picker, or a read
// key's dashboard) only that customer's balance shows.
import { useApi } from '../api';
import { exactMoney, money } from '../format';

export function CreditsSummary() {
  const [grants] = useApi('credits.list', {});
  if (grants.status !== 'ok' || grants.data.length === 0) return null;
  const customers = [...new Set(grants.data.map((g) => g.customerId))];
  return (
    <ul className="credits" aria-label="Prepaid credit" data-testid="credits">
      {customers.map((c) => (
        <BalanceLine key={c} customerId={c} />
      ))}
    </ul>
  );
}

function BalanceLine({ customerId }: { customerId: string }) {
  const [balance] = useApi('credits.balance', { customerId });
  if (balance.status !== 'ok') return null;
  const b = balance.data;
  return (
    <li data-testid={`credit-${customerId}`}>
      <span className="summary-label">Prepaid credit · {customerId}</span>{' '}
      <strong title={`exact ${exactMoney(b.remaining)}`}>{money(b.remaining)}</strong> left of {money(b.granted)}
    </li>
  );
}
