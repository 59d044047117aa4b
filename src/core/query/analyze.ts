import type { Expr } from "./ast";

/** True when the expression reads `@request.auth`, i.e. its result depends on who asks. */
export function readsAuth(e: Expr): boolean {
  if (e.kind === "compare") return e.left.kind === "auth" || e.right.kind === "auth";
  return e.items.some(readsAuth);
}

/** The relation fields an expression follows, e.g. `post` for `post.status = 'published'`. */
export function relationsRead(e: Expr): string[] {
  const found = new Set<string>();
  const visit = (x: Expr) => {
    if (x.kind !== "compare") return x.items.forEach(visit);
    for (const o of [x.left, x.right]) {
      if (o.kind === "field" && o.path.length > 1) found.add(o.path[0]!);
    }
  };
  visit(e);
  return [...found];
}
