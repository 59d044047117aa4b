import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * System tables owned by the engine. Names start with `nb_` so they never collide with a
 * developer's collections. Each later concern (auth, outbox, audit…) adds its tables here.
 */
/**
 * Data versions per scope (e.g. `c:posts`), bumped in the same batch as every write; shared-cache
 * keys include them so a write invalidates every location's entries (see core/cache/versions.ts).
 */
export const versions = sqliteTable("nb_versions", {
  scope: text().primaryKey(),
  version: integer().notNull(),
  updatedAt: integer().notNull(),
});

/** GCRA state for precise, shared rate limits (auth endpoints): one row per policy and key. */
export const rateLimits = sqliteTable("nb_rate_limits", {
  key: text().primaryKey(),
  tat: integer().notNull(),
  allowed: integer().notNull(),
});
