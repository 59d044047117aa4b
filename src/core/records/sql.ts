import type { InValue, Row } from "@libsql/client";
import { type SQL, sql } from "drizzle-orm";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import type { CollectionModel, FieldInfo } from "./model";

const dialect = new SQLiteAsyncDialect({ casing: "snake_case" });

/** Renders a drizzle SQL fragment to text + bound parameters for the libSQL client. */
export function statement(fragment: SQL): { sql: string; args: InValue[] } {
  const query = dialect.sqlToQuery(fragment);
  return { sql: query.sql, args: query.params as InValue[] };
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
