// What re-registering a service would change. A custom service registered again with another
// definition must not silently drop its required fields or flags: callers refuse and show this
// difference unless the user asked to update.
import type { ServiceDefinition } from './services';

/** One line per changed property: `requiredFields: ["model","provider"] → []`. */
export function serviceDifference(existing: ServiceDefinition, next: ServiceDefinition): string[] {
  const keys = [...new Set([...Object.keys(existing), ...Object.keys(next)])].filter((k) => k !== 'builtin');
  const a = existing as unknown as Record<string, unknown>;
  const b = next as unknown as Record<string, unknown>;
  return keys
    .filter((k) => JSON.stringify(a[k] ?? null) !== JSON.stringify(b[k] ?? null))
    .map((k) => `${k}: ${show(a[k])} → ${show(b[k])}`);
}

function show(v: unknown): string {
  return v === undefined ? '(none)' : JSON.stringify(v);
}
