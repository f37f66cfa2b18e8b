// Strict parsing of command-line values; each error names the argument.
import type { Command } from 'commander';
import { invalid } from '../core/errors';
import { parseDateArg, parseRange as parseRangeAt } from '../core/period';

export { parseDateArg };

export function parseNumberArg(name: string, text: string, o: { integer?: boolean; min?: number } = {}): number {
  const t = text.trim();
  if (!/^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(t)) throw invalid(name, `"${text}" is not a number`);
  const n = Number(t);
  if (!Number.isFinite(n)) throw invalid(name, `"${text}" is not a finite number`);
  if (o.integer && !Number.isInteger(n)) throw invalid(name, `"${text}" must be a whole number`);
  if (o.min !== undefined && n < o.min) throw invalid(name, `must be ≥ ${o.min}`);
  return n;
}

export function parseJsonObjectArg(name: string, text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid(name, 'is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(name, 'must be a JSON object');
  return value as Record<string, unknown>;
}

/** --from/--to/--month with defaults: the current month (see core/period). */
export function parseRange(opts: { from?: string; to?: string; month?: string }, now = Date.now()): { from: number; to: number } {
  return parseRangeAt(opts, now);
}

/**
 * `--target` of a `sync` subcommand. `sync` has a --target of its own, and commander gives an
 * option both define to the parent (`sync rejected --target X` sets sync's): the nearest one set.
 */
export function syncTarget(cmd: Command, required: true): string;
export function syncTarget(cmd: Command, required?: false): string | undefined;
export function syncTarget(cmd: Command, required = false): string | undefined {
  const target = (cmd.optsWithGlobals() as { target?: string }).target;
  if (target === undefined && required) throw invalid('target', 'is required: --target NAME (tally sync target list shows the names)');
  return target;
}
