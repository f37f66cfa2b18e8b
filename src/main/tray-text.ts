// What the tray says: this month's cost (the agent's exact text) and the active alerts.
export function trayText(input: { cost: string | null; currency?: string; alerts: number | null }): { title: string; tooltip: string } {
  const sign = (input.currency ?? 'USD') === 'USD' ? '$' : `${input.currency} `;
  const cost = input.cost === null ? '…' : `${sign}${input.cost}`;
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
