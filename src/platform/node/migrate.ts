import { fileURLToPath } from "node:url";
import type { Client } from "@libsql/client";
import { migrate } from "drizzle-orm/libsql/migrator";
import { createDatabase } from "../../core/db/client";

export const migrationsFolder = fileURLToPath(new URL("../../../migrations", import.meta.url));

/**
 * Applies pending drizzle-kit migrations from migrations/ to any libSQL database (file or
 * HTTP), then refreshes the query planner's statistics. Idempotent: drizzle records applied
 * ones in __drizzle_migrations.
 */
export async function migrateDatabase(client: Client): Promise<void> {
  await migrate(createDatabase(client), { migrationsFolder });
  await optimizeDatabase(client);
}

/**
 * `PRAGMA optimize` over every table (0x10002): without statistics SQLite prefers an OR of two
 * indexes plus a sort for rules like `status = 'published' || author = ?`, 30× slower than
 * walking the created index for a newest-first page (measured: 3.2 ms vs 0.1 ms on 10k posts).
 */
export async function optimizeDatabase(client: Client): Promise<void> {
  try {
    await client.execute("PRAGMA optimize=0x10002");
  } catch {
    // Statistics are an optimisation: a server that refuses the pragma still works.
  }
}
