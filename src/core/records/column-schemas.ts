import { getTableColumns } from "drizzle-orm";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import * as z from "zod/mini";

/**
 * A collection table's columns as zod/mini schemas: what drizzle-zod 0.8's createSelectSchema,
 * createInsertSchema and createUpdateSchema built (node_modules/drizzle-zod/index.mjs), for the
 * SQLite columns drizzle has, with the same checks (and so the same problems and the same JSON
 * Schema in the OpenAPI document), without drizzle-zod and classic zod in the Worker bundle.
 * column-schemas.test.ts pins what each column type accepts.
 */

/** Which schema: a stored row as read, a create body, an update body. */
export type SchemaKind = "select" | "insert" | "update";

// drizzle-zod's ranges: JSON numbers in 48-bit (real) or safe-integer (integer) range.
const int48 = 2 ** 47;
const int64 = 2n ** 63n;

let json: z.ZodMiniType | undefined;
/** Any JSON value (drizzle-zod's `jsonSchema`; one instance, as there). */
function jsonValue(): z.ZodMiniType {
  json ??= z.union([
    z.union([z.string(), z.number(), z.boolean(), z.null()]),
    z.record(z.string(), z.any()),
    z.array(z.any()),
  ]);
  return json;
}

/** The values a column takes, before nullability and optionality. */
export function columnSchema(column: SQLiteColumn): z.ZodMiniType {
  const values = (column as { enumValues?: unknown }).enumValues;
  if (Array.isArray(values) && values.length > 0) return z.enum(values as [string, ...string[]]);
  switch (column.dataType) {
    case "number":
      if (column.columnType === "SQLiteInteger")
        return z.int().check(z.gte(Number.MIN_SAFE_INTEGER), z.lte(Number.MAX_SAFE_INTEGER));
      if (column.columnType === "SQLiteReal")
        return z.number().check(z.gte(-int48), z.lte(int48 - 1));
      return z.number().check(z.gte(Number.MIN_SAFE_INTEGER), z.lte(Number.MAX_SAFE_INTEGER));
    case "bigint":
      return z.bigint().check(z.gte(-int64), z.lte(int64 - 1n));
    case "boolean":
      return z.boolean();
    case "date":
      return z.date();
    case "string": {
      const length = column.columnType === "SQLiteText" && (column as { length?: number }).length;
      return length ? z.string().check(z.maxLength(length)) : z.string();
    }
    case "json":
      return jsonValue();
    case "buffer":
      return z.custom<Buffer>((v) => v instanceof Buffer);
    default:
      return z.any();
  }
}

/**
 * The object shape for one kind of schema: each column in table order whose key `keep`s, typed
 * by `refine[key]` (a collection's `validate`) or its column schema, then nullable when the
 * column is, and optional where a body may leave it out (insert: nullable or with a default;
 * update: always). Generated columns are never written.
 */
export function tableShape(
  table: SQLiteTable,
  kind: SchemaKind,
  refine: Readonly<Record<string, z.core.$ZodType>> = {},
  keep: (key: string) => boolean = () => true,
): Record<string, z.core.$ZodType> {
  const shape: Record<string, z.core.$ZodType> = {};
  for (const [key, column] of Object.entries(
    getTableColumns(table) as Record<string, SQLiteColumn>,
  )) {
    if (!keep(key) || (kind !== "select" && column.generated?.type === "always")) continue;
    let schema = refine[key] ?? columnSchema(column);
    if (!column.notNull) schema = z.nullable(schema);
    if (kind === "update" || (kind === "insert" && (!column.notNull || column.hasDefault)))
      schema = z.optional(schema);
    shape[key] = schema;
  }
  return shape;
}
