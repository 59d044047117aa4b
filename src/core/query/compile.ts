import { type SQL, sql } from "drizzle-orm";
import { type ComparisonOp, type Expr, FilterError, type Operand } from "./ast";
import { normaliseDateTime } from "./datetime";

/** What a field path means in SQL, as the collection that owns it decides. */
export interface ResolvedField {
  sql: SQL;
  /** A JSON array column: comparisons apply to its elements. */
  multi: boolean;
}

/**
 * What a client filter may cost. Pattern matching (`~`) is the expensive part: SQLite's LIKE is
 * O(text × pattern) per row, and a relation path repeats it per related row. Rules are written
 * by the developer and are not limited.
 */
export interface CostLimits {
  /** Longest `~`/`!~` pattern, in characters. */
  maxPatternLength: number;
  /** Most `~`/`!~` comparisons in one filter. */
  maxPatternTerms: number;
  /** Most comparisons that follow a relation (each is a lookup per row). */
  maxRelationTerms: number;
}

export const clientFilterLimits: CostLimits = {
  maxPatternLength: 100,
  maxPatternTerms: 4,
  maxRelationTerms: 8,
};

export interface CompileContext {
  /** Resolves a (possibly dotted) field, or throws FilterError for unknown or hidden ones. */
  field(path: string[], pos: number): ResolvedField;
  /** Set for client filters: refuse what would cost too much with a FilterError. */
  limits?: CostLimits;
  /** Values of `@request.auth.*` for this caller ("" when anonymous, like PocketBase). */
  auth: Readonly<Record<string, string>>;
  now: Date;
}

export const authFields = ["id", "role", "kind"] as const;

/**
 * Stand-ins for what differs between callers of the same kind: a filter compiled with
 * `templateNow` as its clock and `templateAuthId` as the caller's id leaves named slots
 * (`now`, `auth.id`) instead of values, so its SQL can be rendered once and bound per request
 * (records/sql.ts templates). The clock is recognised by identity; the id holds a NUL, which no
 * real id does, and only `@request.auth.id` is ever compared with it (never a filter literal).
 */
export const templateNow = new Date(0);
export const templateAuthId = "\u0000nearbase:auth.id";

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
  if (ctx.limits !== undefined) checkCost(expr, ctx.limits);
  return compileExpr(expr, ctx);
}

/**
 * Multi-valued (JSON list) fields on the left: a plain operator must hold for EVERY element and
 * the list must not be empty (`tags = 'x'`: all tags are 'x'); a `?` operator must hold for ANY
 * element (`tags ?= 'x'`: some tag is 'x'). An empty list satisfies neither; test emptiness
 * with `tags:length = 0`.
 */
function compileExpr(expr: Expr, ctx: CompileContext): SQL {
  if (expr.kind !== "compare") {
    const parts = expr.items.map((item) => sql`(${compileExpr(item, ctx)})`);
    return sql.join(parts, sql.raw(expr.kind === "and" ? " AND " : " OR "));
  }
  const { op, any, left, right } = expr;
  if (right.kind === "field" && resolve(right, ctx).multi) {
    throw new FilterError("a multi-valued field can only be on the left", right.pos);
  }
  const leftField = left.kind === "field" ? resolve(left, ctx) : undefined;
  // A ~ pattern is text, never a date-time to normalise.
  const pattern = (op === "~" || op === "!~") && right.kind === "literal";
  const rhs = pattern ? sql`${right.value}` : value(right, ctx);
  if (leftField?.multi) {
    const element = sql.raw("je.value");
    const test = compare(element, op, right, rhs, expr.pos);
    return any
      ? sql`EXISTS (SELECT 1 FROM json_each(${leftField.sql}) AS je WHERE ${test})`
      : sql`(json_array_length(${leftField.sql}) > 0 AND NOT EXISTS (SELECT 1 FROM json_each(${leftField.sql}) AS je WHERE NOT (${test})))`;
  }
  // On a single value, the any-of forms mean the same as the plain ones (as in PocketBase).
  const lhs = leftField?.sql ?? value(left, ctx);
  return compare(lhs, op, right, rhs, expr.pos);
}

/** A field operand in SQL, with its `:length` modifier applied. */
function resolve(o: Operand & { kind: "field" }, ctx: CompileContext): ResolvedField {
  const field = ctx.field(o.path, o.pos);
  if (o.modifier === undefined) return field;
  if (!field.multi) throw new FilterError(":length applies to list fields only", o.pos);
  return { sql: sql`json_array_length(${field.sql})`, multi: false };
}

function checkCost(expr: Expr, limits: CostLimits): void {
  let patterns = 0;
  let relations = 0;
  const visit = (e: Expr) => {
    if (e.kind !== "compare") return e.items.forEach(visit);
    if (e.op === "~" || e.op === "!~") {
      patterns++;
      if (patterns > limits.maxPatternTerms)
        throw new FilterError(
          `too expensive: at most ${limits.maxPatternTerms} ~ or !~ comparisons`,
          e.pos,
        );
      if (
        e.right.kind === "literal" &&
        typeof e.right.value === "string" &&
        e.right.value.length > limits.maxPatternLength
      )
        throw new FilterError(
          `too expensive: ~ patterns are at most ${limits.maxPatternLength} characters`,
          e.right.pos,
        );
    }
    for (const o of [e.left, e.right]) {
      if (o.kind === "field" && o.path.length > 1 && ++relations > limits.maxRelationTerms)
        throw new FilterError(
          `too expensive: at most ${limits.maxRelationTerms} comparisons through relations`,
          o.pos,
        );
    }
  };
  visit(expr);
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
      if (typeof o.value === "string") return sql`${normaliseDateTime(o.value, o.pos)}`;
      return sql`${typeof o.value === "boolean" ? (o.value ? 1 : 0) : o.value}`;
    case "now":
      return ctx.now === templateNow
        ? sql`${sql.placeholder("now")}`
        : sql`${ctx.now.toISOString()}`;
    case "auth": {
      if (!(authFields as readonly string[]).includes(o.field)) {
        throw new FilterError(
          `@request.auth.${o.field} is not available (use ${authFields.join(", ")})`,
          o.pos,
        );
      }
      const auth = ctx.auth[o.field] ?? "";
      return auth === templateAuthId ? sql`${sql.placeholder("auth.id")}` : sql`${auth}`;
    }
    case "field":
      return resolve(o, ctx).sql;
  }
}
