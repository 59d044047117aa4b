import type { InValue, Row } from "@libsql/client";
import { Placeholder, type SQL, sql } from "drizzle-orm";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import type { CollectionModel, FieldInfo } from "./model";

const dialect = new SQLiteAsyncDialect({ casing: "snake_case" });

/** Renders a drizzle SQL fragment to text + bound parameters for the libSQL client. */
export function statement(fragment: SQL): { sql: string; args: InValue[] } {
  const query = dialect.sqlToQuery(fragment);
  return { sql: query.sql, args: query.params as InValue[] };
}

/**
 * A statement rendered once, with named slots (`sql.placeholder(name)`) for what changes per
 * request. Hot paths (list, get, create) render their SQL through drizzle once per shape and
 * then only fill the slots: drizzle's query builder cost 6–12 % of a read's CPU per request.
 */
export interface Template {
  sql: string;
  args: InValue[];
  /** Positions in `args` to fill, and the name of the value for each. */
  slots: { index: number; name: string }[];
}

export function template(fragment: SQL): Template {
  const query = dialect.sqlToQuery(fragment);
  const args = query.params as InValue[];
  const slots: Template["slots"] = [];
  args.forEach((arg, index) => {
    if (arg instanceof Placeholder) slots.push({ index, name: arg.name as string });
  });
  return { sql: query.sql, args, slots };
}

/** The template's statement with `values` in its slots (a missing value binds NULL). */
export function bind(
  t: Template,
  values: Record<string, unknown>,
): { sql: string; args: InValue[] } {
  if (t.slots.length === 0) return { sql: t.sql, args: t.args };
  const args = t.args.slice();
  for (const { index, name } of t.slots) args[index] = (values[name] ?? null) as InValue;
  return { sql: t.sql, args };
}

/**
 * A small memo of templates by shape. Shapes a client controls (fields, filter text) are
 * unbounded, so the memo forgets everything when it reaches `max` entries rather than grow.
 */
export class TemplateMemo {
  private readonly entries = new Map<string, Template>();
  constructor(private readonly max = 512) {}

  get(key: string, build: () => SQL): Template {
    let t = this.entries.get(key);
    if (t === undefined) {
      t = template(build());
      if (this.entries.size >= this.max) this.entries.clear();
      this.entries.set(key, t);
    }
    return t;
  }
}

/** `"column" AS "key"` for each field, so rows come back keyed by API field names. */
export function selectList(fields: readonly FieldInfo[]): SQL {
  return sql.join(
    fields.map((f) => sql`${f.column} AS ${sql.identifier(f.key)}`),
    sql`, `,
  );
}

/** Maps a driver row to API values (JSON columns parsed, booleans as booleans). */
export function fromRow(fields: readonly FieldInfo[], row: Row): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const raw = row[f.key];
    out[f.key] = raw === null || raw === undefined ? null : f.column.mapFromDriverValue(raw);
  }
  return out;
}

export function toDriver(field: FieldInfo, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  return field.column.mapToDriverValue(value);
}

export function fieldsOf(model: CollectionModel, keys: readonly string[]): FieldInfo[] {
  return keys.map((k) => model.fields.get(k)!);
}
