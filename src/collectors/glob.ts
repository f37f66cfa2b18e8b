// Interface name patterns: `*` any run of characters, `?` one character, everything else literal.
export function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** Included when it matches an include pattern (or there are none) and no exclude pattern. */
export function nameFilter(include: readonly string[], exclude: readonly string[]): (name: string) => boolean {
  const inc = include.map(globToRegExp);
  const exc = exclude.map(globToRegExp);
  return (name) => (inc.length === 0 || inc.some((r) => r.test(name))) && !exc.some((r) => r.test(name));
}
