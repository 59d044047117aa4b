import type { Expr, Operand } from "./ast";

function operand(o: Operand): string {
  switch (o.kind) {
    case "literal":
      if (typeof o.value === "string")
        return `'${o.value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
      return String(o.value);
    case "field":
      return o.modifier === undefined ? o.path.join(".") : `${o.path.join(".")}:${o.modifier}`;
    case "auth":
      return `@request.auth.${o.field}`;
    case "now":
      return "@now";
  }
}

/** Prints an AST back to canonical filter text (fully parenthesised groups). */
export function printFilter(e: Expr): string {
  if (e.kind === "compare")
    return `${operand(e.left)} ${e.any ? "?" : ""}${e.op} ${operand(e.right)}`;
  const sep = e.kind === "and" ? " && " : " || ";
  return e.items
    .map((item) => (item.kind === "compare" ? printFilter(item) : `(${printFilter(item)})`))
    .join(sep);
}

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
