import { sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * System tables owned by the engine. Names start with `nb_` so they never collide with a
 * developer's collections. Each later concern (auth, outbox, audit…) adds its tables here.
 */
export const meta = sqliteTable("nb_meta", {
  key: text().primaryKey(),
  value: text().notNull(),
  updatedAt: text().notNull(),
});
