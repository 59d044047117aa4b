import { getTableName } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";

/**
 * A collection: a drizzle table plus Nearbase options. The options (rules, owner field, cache
 * policy, personal fields…) grow with the collections engine; the shape stays "table + options".
 */
export interface CollectionDefinition<T extends SQLiteTable = SQLiteTable> {
  /** URL segment under /api/collections/; defaults to the table name. */
  readonly name: string;
  readonly table: T;
}

const collectionName = /^[a-z][a-z0-9_]{0,62}$/;

/** Declares a collection; a bad name fails when the app is built, not on the first request. */
export function defineCollection<T extends SQLiteTable>(
  table: T,
  options: { name?: string } = {},
): CollectionDefinition<T> {
  const name = options.name ?? getTableName(table);
  if (!collectionName.test(name)) {
    throw new Error(`Collection name ${JSON.stringify(name)} must match ${collectionName}.`);
  }
  return { name, table };
}
