import { fileURLToPath } from "node:url";
import type { Client } from "@libsql/client";
import { migrate } from "drizzle-orm/libsql/migrator";
import { createDatabase } from "../../core/db/client";

export const migrationsFolder = fileURLToPath(new URL("../../../migrations", import.meta.url));

/**
 * Applies pending drizzle-kit migrations from migrations/ to any libSQL database (file or
 * HTTP). Idempotent: drizzle records applied ones in __drizzle_migrations.
 */
export async function migrateDatabase(client: Client): Promise<void> {
  await migrate(createDatabase(client), { migrationsFolder });
}
