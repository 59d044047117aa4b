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
