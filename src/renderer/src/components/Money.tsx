// An amount as people read it (minor unit, half-even), with the exact decimal on hover.
import { exactMoney, money } from '../format';

export function Money({ amount, testId }: { amount: string | bigint; testId?: string }) {
  return (
    <span className="money" title={exactMoney(amount)} data-testid={testId} data-exact={typeof amount === 'string' ? amount : undefined}>
      {money(amount)}
    </span>
  );
}
