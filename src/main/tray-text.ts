// What the tray says: this month's cost (in the currency's minor unit, as everywhere people read
// money: core/money.ts) and the active alerts.
import { formatMoney } from '../core/money';

export function trayText(input: { cost: string | null; currency?: string; alerts: number | null }): { title: string; tooltip: string } {
  const cost = input.cost === null ? '…' : formatMoney(input.cost, input.currency ?? 'USD');
  const alerts =
    input.alerts === null
      ? ''
      : input.alerts === 0
        ? 'no active alerts'
        : input.alerts === 1
          ? '1 active alert'
          : `${input.alerts} active alerts`;
  return {
    title: input.alerts ? `${cost} · ⚠ ${input.alerts}` : cost,
    tooltip: `Tally: ${cost} this month${alerts ? ` · ${alerts}` : ''}`,
  };
}
