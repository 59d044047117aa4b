import { type ComparisonOp, type Expr, FilterError, filterLimits, type Operand } from "./ast";
import { type Token, tokenize } from "./lexer";

const segment = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parses a filter (PocketBase-style) into an AST:
 *   expr    := and ("||" and)*
 *   and     := primary ("&&" primary)*
 *   primary := "(" expr ")" | operand OP operand
 *   operand := string | number | true | false | null | field[.field][:length]
 *            | @request.auth.field | @now
 * Enforces length, nesting depth and term-count limits; errors carry the position.
 */
export function parseFilter(source: string): Expr {
  const tokens = tokenize(source);
  let at = 0;
  let terms = 0;
  const peek = () => tokens[at]!;
  const next = () => tokens[at++]!;

  function expr(depth: number): Expr {
    if (depth > filterLimits.maxDepth)
      throw new FilterError(`nesting deeper than ${filterLimits.maxDepth}`, peek().pos);
    const first = and(depth);
    if (peek().type !== "or") return first;
    const items = [first];
    while (peek().type === "or") {
      next();
      items.push(and(depth));
    }
    return { kind: "or", items, pos: first.pos };
  }

  function and(depth: number): Expr {
    const first = primary(depth);
    if (peek().type !== "and") return first;
    const items = [first];
    while (peek().type === "and") {
      next();
      items.push(primary(depth));
    }
    return { kind: "and", items, pos: first.pos };
  }

  function primary(depth: number): Expr {
    const t = peek();
    if (t.type === "lparen") {
      next();
      const inner = expr(depth + 1);
      const close = next();
      if (close.type !== "rparen") throw new FilterError("expected )", close.pos);
      return inner;
    }
    terms++;
    if (terms > filterLimits.maxTerms)
      throw new FilterError(`more than ${filterLimits.maxTerms} comparisons`, t.pos);
    const left = operand();
    const opToken = next();
    if (opToken.type !== "op") throw new FilterError("expected a comparison operator", opToken.pos);
    const any = opToken.value.startsWith("?");
    const op = (any ? opToken.value.slice(1) : opToken.value) as ComparisonOp;
    const right = operand();
    return { kind: "compare", op, any, left, right, pos: left.pos };
  }

  function operand(): Operand {
    const t = next();
    switch (t.type) {
      case "string":
        return { kind: "literal", value: t.value, pos: t.pos };
      case "number":
        return { kind: "literal", value: t.value, pos: t.pos };
      case "ident":
        return identifier(t);
      default:
        throw new FilterError(
          t.type === "eof" ? "unexpected end of filter" : "expected a value or field",
          t.pos,
        );
    }
  }

  function identifier(t: Token & { type: "ident" }): Operand {
    const { value, pos } = t;
    if (value === "true" || value === "false")
      return { kind: "literal", value: value === "true", pos };
    if (value === "null") return { kind: "literal", value: null, pos };
    if (value === "@now") return { kind: "now", pos };
    if (value.startsWith("@request.auth.")) {
      const field = value.slice("@request.auth.".length);
      if (!segment.test(field))
        throw new FilterError(`bad auth field ${JSON.stringify(field)}`, pos);
      return { kind: "auth", field, pos };
    }
    if (value.startsWith("@")) throw new FilterError(`unknown macro ${JSON.stringify(value)}`, pos);
    const [name, modifier, ...extra] = value.split(":");
    if (extra.length > 0 || (modifier !== undefined && modifier !== "length"))
      throw new FilterError(`unknown modifier in ${JSON.stringify(value)} (only :length)`, pos);
    const path = name!.split(".");
    if (path.length > 2) throw new FilterError("relation paths are one level deep (a.b)", pos);
    if (!path.every((p) => segment.test(p)))
      throw new FilterError(`bad field name ${JSON.stringify(value)}`, pos);
    return modifier === undefined
      ? { kind: "field", path, pos }
      : { kind: "field", path, modifier, pos };
  }

  const tree = expr(0);
  const end = peek();
  if (end.type !== "eof")
    throw new FilterError("unexpected input after the end of the expression", end.pos);
  return tree;
}

const parsed = new Map<string, Expr>();
const maxParsed = 256;

/**
 * `parseFilter` with a small memo of recent filters: a list request's filter is read by the
 * edge layer (may the answer be shared?) and then by the query itself, and apps repeat the same
 * filters. ASTs are never mutated, so sharing them is safe; failures are not remembered.
 */
export function parseFilterOnce(source: string): Expr {
  let expr = parsed.get(source);
  if (expr === undefined) {
    expr = parseFilter(source);
    if (parsed.size >= maxParsed) parsed.delete(parsed.keys().next().value!);
    parsed.set(source, expr);
  }
  return expr;
}
