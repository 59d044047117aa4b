import { toSnakeCase } from "drizzle-orm/casing";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";

/** The column's name in the database (the app uses `casing: "snake_case"`). */
export function columnName(column: SQLiteColumn): string {
  return column.keyAsName ? toSnakeCase(column.name) : column.name;
}
