import { type SQL, sql } from "drizzle-orm";
import { type ComparisonOp, type Expr, FilterError, type Operand } from "./ast";

/** What a field path means in SQL, as the collection that owns it decides. */
export interface ResolvedField {
  sql: SQL;
  /** A JSON array column: comparisons apply to its elements. */
  multi: boolean;
}

export interface CompileContext {
  /** Resolves a (possibly dotted) field, or throws FilterError for unknown or hidden ones. */
  field(path: string[], pos: number): ResolvedField;
  /** Values of `@request.auth.*` for this caller ("" when anonymous, like PocketBase). */
  auth: Readonly<Record<string, string>>;
  now: Date;
}

export const authFields = ["id", "role", "kind"] as const;

const sqlOps: Record<Exclude<ComparisonOp, "~" | "!~">, string> = {
  "=": "=",
  "!=": "!=",
  ">": ">",
  ">=": ">=",
  "<": "<",
  "<=": "<=",
};

function escapeLike(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("%", "\\%").replaceAll("_", "\\_");
}

/**
 * Compiles a filter AST to a drizzle SQL fragment. Only bound parameters ever carry values from
 * the filter text; identifiers come from `ctx.field`, i.e. from the schema, never the input.
 */
export function compileFilter(expr: Expr, ctx: CompileContext): SQL {
  if (expr.kind !== "compare") {
    const parts = expr.items.map((item) => sql`(${compileFilter(item, ctx)})`);
    return sql.join(parts, sql.raw(expr.kind === "and" ? " AND " : " OR "));
  }
  const { op, any, left, right } = expr;
  if (right.kind === "field" && ctx.field(right.path, right.pos).multi) {
    throw new FilterError("a multi-valued field can only be on the left", right.pos);
  }
  const leftField = left.kind === "field" ? ctx.field(left.path, left.pos) : undefined;
  const rhs = value(right, ctx);
  if (leftField?.multi) {
    const element = sql.raw("je.value");
    const test = compare(element, op, right, rhs, expr.pos);
    return any
      ? sql`EXISTS (SELECT 1 FROM json_each(${leftField.sql}) AS je WHERE ${test})`
      : sql`NOT EXISTS (SELECT 1 FROM json_each(${leftField.sql}) AS je WHERE NOT (${test}))`;
  }
  const lhs = leftField?.sql ?? value(left, ctx);
  return compare(lhs, op, right, rhs, expr.pos);
}

function compare(lhs: SQL, op: ComparisonOp, right: Operand, rhs: SQL, pos: number): SQL {
  if (right.kind === "literal" && right.value === null) {
    if (op === "=") return sql`${lhs} IS NULL`;
    if (op === "!=") return sql`${lhs} IS NOT NULL`;
    throw new FilterError("null can only be compared with = or !=", pos);
  }
  if (op === "~" || op === "!~") {
    const pattern =
      right.kind === "literal" && typeof right.value === "string"
        ? sql`${right.value.includes("%") ? right.value : `%${escapeLike(right.value)}%`}`
        : sql`'%' || replace(replace(replace(${rhs}, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%'`;
    return op === "~"
      ? sql`${lhs} LIKE ${pattern} ESCAPE '\\'`
      : sql`(${lhs} IS NULL OR ${lhs} NOT LIKE ${pattern} ESCAPE '\\')`;
  }
  if (op === "!=") return sql`${lhs} IS NOT ${rhs}`;
  return sql`${lhs} ${sql.raw(sqlOps[op])} ${rhs}`;
}

function value(o: Operand, ctx: CompileContext): SQL {
  switch (o.kind) {
    case "literal":
      return sql`${typeof o.value === "boolean" ? (o.value ? 1 : 0) : o.value}`;
    case "now":
      return sql`${ctx.now.toISOString()}`;
    case "auth": {
      if (!(authFields as readonly string[]).includes(o.field)) {
        throw new FilterError(
          `@request.auth.${o.field} is not available (use ${authFields.join(", ")})`,
          o.pos,
        );
      }
      return sql`${ctx.auth[o.field] ?? ""}`;
    }
    case "field":
      return ctx.field(o.path, o.pos).sql;
  }
}
