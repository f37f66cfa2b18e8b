// A JSON object (not null, not an array): the first question asked of any body from outside.
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * `make()` on the first call, the same value after. For zod schemas that only some commands use:
 * building them is start-up time every command would otherwise pay.
 */
export function once<T>(make: () => T): () => T {
  let made = false;
  let value: T;
  return () => {
    if (!made) {
      value = make();
      made = true;
    }
    return value;
  };
}
