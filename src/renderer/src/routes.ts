// Hash routes: they work the same from file:// in the desktop window and from the agent's URL,
// and moving between them never navigates the window. Pure parsing here; the hook in router.ts.
import type { PeriodChoice } from './period';

export type Route =
  | { readonly page: 'overview' }
  | { readonly page: 'trends' }
  | { readonly page: 'peaks' }
  | { readonly page: 'services' }
  | { readonly page: 'service'; readonly service: string }
  | { readonly page: 'alerts' }
  | { readonly page: 'customers' }
  | { readonly page: 'events' }
  | { readonly page: 'insights' }
  | { readonly page: 'export' }
  | { readonly page: 'statement' }
  | { readonly page: 'settings' };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('?')[0]!.split('/');
  switch (parts[0]) {
    case 'trends':
    case 'peaks':
    case 'alerts':
    case 'customers':
    case 'events':
    case 'insights':
    case 'export':
    case 'statement':
    case 'settings':
    case 'services':
      return { page: parts[0] };
    case 'service':
      return parts[1] ? { page: 'service', service: decodeURIComponent(parts[1]) } : { page: 'services' };
    default:
      return { page: 'overview' };
  }
}

/**
 * A period given in the address (`#/overview?month=2026-10` or `?from=2026-10-01&to=2026-10-15`),
 * so a view can be linked to; null when there is none or it is not a valid date.
 */
export function periodFromHash(hash: string): PeriodChoice | null {
  const query = new URLSearchParams(hash.split('?')[1] ?? '');
  const month = query.get('month');
  const day = /^\d{4}-\d{2}-\d{2}$/;
  if (month && /^\d{4}-(0[1-9]|1[0-2])$/.test(month)) {
    const [y, m] = month.split('-').map(Number);
    const last = new Date(Date.UTC(y!, m!, 0)).toISOString().slice(0, 10);
    return { kind: 'custom', from: `${month}-01`, to: last };
  }
  const from = query.get('from');
  const to = query.get('to');
  if (from && to && day.test(from) && day.test(to) && from <= to) return { kind: 'custom', from, to };
  return null;
}
