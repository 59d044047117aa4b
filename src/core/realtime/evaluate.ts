import type { ComparisonOp, Expr, Operand } from "../query/ast";
import type { CollectionModel, FieldInfo } from "../records/model";

/**
 * The filter language evaluated in memory on one record, with SQLite's semantics as
 * `compileFilter` produces them: three-valued logic (a comparison with NULL is unknown, and an
 * unknown element does not break an "every element" test), column affinity (a TEXT column
 * compared with a number compares text; a numeric column compared with a numeric string compares
 * numbers), LIKE that ignores ASCII case, `!=` as `IS NOT`, and the any/every forms over JSON
 * list fields. Realtime fan-out uses it so that rules without relations cost no query per
 * subscriber per event; anything it cannot decide (a relation path, a hidden field the event
 * does not carry) is reported as such and checked in SQL instead.
 */

/** A value as SQLite holds it: NULL, a number (INTEGER/REAL) or text. */
type Value = number | string | null;
/** Three-valued truth: `null` is SQL's unknown. */
type Truth = boolean | null;
type Affinity = "text" | "numeric" | "none";

export interface EvalContext {
  /** `@request.auth.*` values of the subscriber ("" when anonymous). */
  auth: Readonly<Record<string, string>>;
  /** `@now` as ISO text (realtime uses the time of the change). */
  now: string;
}

/** Whether `expr` can be decided from the record alone: no relation paths, no hidden fields. */
export function inMemory(expr: Expr, model: CollectionModel): boolean {
  if (expr.kind !== "compare") return expr.items.every((e) => inMemory(e, model));
  for (const o of [expr.left, expr.right]) {
    if (o.kind !== "field") continue;
    if (o.path.length > 1) return false;
    const key = o.path[0]!;
    if (!model.fields.has(key) || model.hidden.has(key)) return false;
  }
  return true;
}

/** True when `record` (API values: booleans, JSON lists) satisfies `expr` for this subscriber. */
export function evaluate(
  expr: Expr,
  model: CollectionModel,
  record: Readonly<Record<string, unknown>>,
  ctx: EvalContext,
): boolean {
  return truth(expr, model, record, ctx) === true;
}

function truth(
  expr: Expr,
  model: CollectionModel,
  record: Readonly<Record<string, unknown>>,
  ctx: EvalContext,
): Truth {
  if (expr.kind !== "compare") {
    const and = expr.kind === "and";
    let unknown = false;
    for (const item of expr.items) {
      const t = truth(item, model, record, ctx);
      // AND: one false decides; OR: one true decides; otherwise any unknown makes it unknown.
      if (t === !and) return !and;
      if (t === null) unknown = true;
    }
    return unknown ? null : and;
  }
  const { op, any, left, right } = expr;
  const leftField = left.kind === "field" ? model.fields.get(left.path[0]!) : undefined;
  const rhs = operand(right, model, record, ctx);
  if (leftField?.multi && left.kind === "field" && left.modifier === undefined) {
    const list = record[leftField.key];
    const elements = Array.isArray(list) ? list.map(element) : [];
    const tests = elements.map((e) =>
      compare(
        { value: e, affinity: "none", real: typeof e === "number" && !Number.isInteger(e) },
        op,
        right,
        rhs,
      ),
    );
    if (any) return tests.some((t) => t === true);
    // json_array_length(x) > 0 AND NOT EXISTS (… WHERE NOT test): an unknown test is no counterexample.
    if (list === null || list === undefined) return tests.some((t) => t === false) ? false : null;
    if (elements.length === 0) return false;
    return !tests.some((t) => t === false);
  }
  return compare(operand(left, model, record, ctx), op, right, rhs);
}

interface Typed {
  value: Value;
  affinity: Affinity;
  /** A REAL (not INTEGER) number: bound numbers are REAL in libSQL, and REAL columns. */
  real?: boolean;
}

/** A JSON list element as json_each yields it (true/false as 1/0, objects as JSON text). */
function element(v: unknown): Value {
  if (v === null || v === undefined) return null;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "number" || typeof v === "string") return v;
  return JSON.stringify(v);
}

function affinityOf(field: FieldInfo): Affinity {
  const type = field.column.columnType;
  if (type === "SQLiteInteger" || type === "SQLiteBoolean" || type === "SQLiteTimestamp")
    return "numeric";
  if (type === "SQLiteReal" || type === "SQLiteNumeric" || type === "SQLiteBigInt")
    return "numeric";
  if (type === "SQLiteBlobJson" || type === "SQLiteBlobBuffer") return "none";
  return "text";
}

function operand(
  o: Operand,
  model: CollectionModel,
  record: Readonly<Record<string, unknown>>,
  ctx: EvalContext,
): Typed {
  switch (o.kind) {
    case "literal":
      return {
        value: typeof o.value === "boolean" ? (o.value ? 1 : 0) : o.value,
        affinity: "none",
        // libSQL binds a JS number as REAL (so 5 compared with a TEXT column is '5.0').
        real: typeof o.value === "number",
      };
    case "now":
      return { value: ctx.now, affinity: "none" };
    case "auth":
      return { value: ctx.auth[o.field] ?? "", affinity: "none" };
    case "field": {
      const field = model.fields.get(o.path[0]!)!;
      const raw = record[field.key];
      if (o.modifier === "length")
        return {
          value: raw === null || raw === undefined ? null : Array.isArray(raw) ? raw.length : 0,
          affinity: "none",
        };
      if (raw === null || raw === undefined) return { value: null, affinity: affinityOf(field) };
      if (typeof raw === "boolean") return { value: raw ? 1 : 0, affinity: "numeric" };
      if (typeof raw === "number" || typeof raw === "string")
        return {
          value: raw,
          affinity: affinityOf(field),
          real: field.column.columnType === "SQLiteReal",
        };
      return { value: JSON.stringify(raw), affinity: affinityOf(field) };
    }
  }
}

const numericText = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;

function applyAffinity(t: Typed, affinity: Affinity): Value {
  const v = t.value;
  if (v === null) return null;
  if (affinity === "numeric" && typeof v === "string" && numericText.test(v)) return Number(v);
  if (affinity === "text" && typeof v === "number") return sqliteText(v, t.real === true);
  return v;
}

/** A number as SQLite renders it as text: a REAL keeps a decimal point (5.0). */
function sqliteText(n: number, real: boolean): string {
  if (!real) return String(n);
  if (Number.isInteger(n) && Math.abs(n) < 1e15) return `${n}.0`;
  return String(n);
}

/** SQLite's comparison rules for two operands: affinity first, then NULL < numbers < text. */
function order(a: Typed, b: Typed): number | null {
  let x = a.value;
  let y = b.value;
  if (x === null || y === null) return null;
  if (a.affinity === "numeric" && b.affinity !== "numeric") y = applyAffinity(b, "numeric");
  else if (b.affinity === "numeric" && a.affinity !== "numeric") x = applyAffinity(a, "numeric");
  else if (a.affinity === "text" && b.affinity === "none") y = applyAffinity(b, "text");
  else if (b.affinity === "text" && a.affinity === "none") x = applyAffinity(a, "text");
  if (typeof x === "number" && typeof y === "number") return x === y ? 0 : x < y ? -1 : 1;
  if (typeof x === "number") return -1;
  if (typeof y === "number") return 1;
  return binaryCompare(x as string, y as string);
}

/** BINARY collation: UTF-8 byte order, which is code point order. */
function binaryCompare(x: string, y: string): number {
  if (x === y) return 0;
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const a = x.codePointAt(i)!;
    const b = y.codePointAt(i)!;
    if (a !== b) return a < b ? -1 : 1;
    if (a > 0xffff) i++;
  }
  return x.length < y.length ? -1 : x.length > y.length ? 1 : 0;
}

function compare(lhs: Typed, op: ComparisonOp, right: Operand, rhs: Typed): Truth {
  if (right.kind === "literal" && right.value === null) {
    if (op === "=") return lhs.value === null;
    if (op === "!=") return lhs.value !== null;
    return null;
  }
  if (op === "~" || op === "!~") {
    const pattern =
      right.kind === "literal" && typeof right.value === "string"
        ? right.value.includes("%")
          ? right.value
          : `%${escapeLike(right.value)}%`
        : rhs.value === null
          ? null
          : `%${escapeLike(asText(rhs))}%`;
    const matched = lhs.value === null || pattern === null ? null : like(asText(lhs), pattern);
    if (op === "~") return matched;
    if (lhs.value === null) return true;
    return matched === null ? null : !matched;
  }
  if (op === "!=") {
    // IS NOT: NULL-safe.
    if (lhs.value === null || rhs.value === null) return lhs.value !== rhs.value;
    return order(lhs, rhs) !== 0;
  }
  const c = order(lhs, rhs);
  if (c === null) return null;
  switch (op) {
    case "=":
      return c === 0;
    case ">":
      return c > 0;
    case ">=":
      return c >= 0;
    case "<":
      return c < 0;
    case "<=":
      return c <= 0;
  }
}

function asText(t: Typed): string {
  return typeof t.value === "number" ? sqliteText(t.value, t.real === true) : String(t.value);
}

function escapeLike(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("%", "\\%").replaceAll("_", "\\_");
}

const likeCache = new Map<string, RegExp>();

/** `text LIKE pattern ESCAPE '\'`: % any run, _ one character, ASCII case folded. */
function like(text: string, pattern: string): boolean {
  let re = likeCache.get(pattern);
  if (re === undefined) {
    let source = "";
    for (let i = 0; i < pattern.length; i++) {
      const ch = pattern[i]!;
      if (ch === "\\" && i + 1 < pattern.length) {
        source += escapeRegExp(pattern[++i]!);
      } else if (ch === "%") source += "[\\s\\S]*";
      else if (ch === "_") source += "[\\s\\S]";
      else source += escapeRegExp(ch);
    }
    re = new RegExp(`^${source}$`, "u");
    if (likeCache.size > 1000) likeCache.clear();
    likeCache.set(pattern, re);
  }
  return re.test(foldAscii(text));
}

/** SQLite's LIKE folds ASCII letters only. */
function foldAscii(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

function escapeRegExp(ch: string): string {
  const folded = /[A-Za-z]/.test(ch) ? `[${ch.toLowerCase()}]` : ch;
  return folded === ch ? ch.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&") : folded;
}
