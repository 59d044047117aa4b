import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Records whose embedding failed: how often, when to try again (exponential backoff), and the
 * last error (never the text). A success removes the row; after the last attempt the record's
 * status becomes `failed` and stays so until `npm run embed:backfill -- --retry-failed`.
 */
export const embeddingFailures = sqliteTable(
  "nb_embedding_failures",
  {
    collection: text().notNull(),
    recordId: text().notNull(),
    attempts: integer().notNull(),
    nextAt: integer().notNull(),
    lastError: text().notNull(),
  },
  (t) => [primaryKey({ columns: [t.collection, t.recordId] })],
);
