// Hash routes: they work the same from file:// in the desktop window and from the agent's URL,
// and moving between them never navigates the window.
import { useSyncExternalStore } from 'react';

export type Route =
  | { readonly page: 'overview' }
  | { readonly page: 'trends' }
  | { readonly page: 'peaks' }
  | { readonly page: 'services' }
  | { readonly page: 'service'; readonly service: string }
  | { readonly page: 'alerts' }
  | { readonly page: 'export' }
  | { readonly page: 'settings' };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/');
  switch (parts[0]) {
    case 'trends':
    case 'peaks':
    case 'alerts':
    case 'export':
    case 'settings':
    case 'services':
      return { page: parts[0] };
    case 'service':
      return parts[1] ? { page: 'service', service: decodeURIComponent(parts[1]) } : { page: 'services' };
    default:
      return { page: 'overview' };
  }
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
}

export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, () => window.location.hash);
  return parseRoute(hash);
}
