// Light and dark follow the OS (prefers-color-scheme); charts read the same CSS variables.
import { useSyncExternalStore } from 'react';

export interface ThemeColors {
  readonly dark: boolean;
  readonly fg: string;
  readonly muted: string;
  readonly grid: string;
}

const query = typeof window !== 'undefined' ? window.matchMedia('(prefers-color-scheme: dark)') : null;

function subscribe(onChange: () => void): () => void {
  query?.addEventListener('change', onChange);
  return () => query?.removeEventListener('change', onChange);
}

const LIGHT: ThemeColors = { dark: false, fg: '#1f2937', muted: '#6b7280', grid: 'rgba(0,0,0,0.08)' };
const DARK: ThemeColors = { dark: true, fg: '#e5e7eb', muted: '#9ca3af', grid: 'rgba(255,255,255,0.1)' };

export function useTheme(): ThemeColors {
  const dark = useSyncExternalStore(subscribe, () => query?.matches ?? false);
  return dark ? DARK : LIGHT;
}
