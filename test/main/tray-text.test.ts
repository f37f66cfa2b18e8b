import { describe, expect, it } from 'vitest';
import { trayText } from '../../src/main/tray-text';

describe('trayText', () => {
  it("shows the month's cost in cents and the active alerts", () => {
    expect(trayText({ cost: '86.644144937', alerts: 2 })).toEqual({
      title: '$86.64 · ⚠ 2',
      tooltip: 'Tally: $86.64 this month · 2 active alerts',
    });
    expect(trayText({ cost: '1.5000', alerts: 0 }).tooltip).toBe('Tally: $1.50 this month · no active alerts');
    expect(trayText({ cost: '1234.5', currency: 'EUR', alerts: 0 }).title).toBe('€1,234.50');
    expect(trayText({ cost: null, alerts: null }).tooltip).toBe('Tally: … this month');
  });
});
