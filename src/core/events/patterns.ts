/**
 * Event-type patterns a subscription lists: an exact type (`posts.created`), every event of a
 * collection (`posts.*`), one kind in every collection (`*.deleted`), or everything (`*`).
 */
const patternShape = /^(\*|[a-z][a-z0-9_]{0,62}\.(\*|[a-z_]{1,40})|\*\.[a-z_]{1,40})$/;

export function isPattern(pattern: string): boolean {
  return patternShape.test(pattern);
}

export function matches(pattern: string, type: string): boolean {
  if (pattern === "*") return true;
  const [pc, pk] = pattern.split(".");
  const [tc, tk] = type.split(".");
  return (pc === "*" || pc === tc) && (pk === "*" || pk === tk);
}

export function matchesAny(patterns: readonly string[], type: string): boolean {
  return patterns.some((p) => matches(p, type));
}
