// The benchmark dataset (1k users, 10k posts, seeded deterministically) in a fresh libSQL file,
// migrated and ANALYZEd, with one user who can log in. Every target gets a copy of it.
import { createClient } from "@libsql/client";
import { seed, seedPostId, seedUserId } from "../../scripts/seed-data";
import { hashPassword } from "../../src/core/accounts/passwords";
import { migrateDatabase, optimizeDatabase } from "../../src/platform/node/migrate";

export const dataset = { users: 1000, posts: 10_000 };
export const benchPassword = "bench password 123";
export const benchEmail = "bench@example.com";
/** User 3 owns bookmarks in the seeded data; logs in for the authenticated scenarios. */
export const benchUser = seedUserId(3);
export const samplePostId = seedPostId(10);

export async function seedBenchDatabase(path: string): Promise<void> {
  const db = createClient({ url: `file:${path}` });
  try {
    await migrateDatabase(db);
    await seed(db, dataset);
    await optimizeDatabase(db);
    const now = new Date().toISOString();
    await db.execute({
      sql: "INSERT INTO nb_users (id, email, email_verified_at, password_hash, name, role, created, updated) VALUES (?, ?, ?, ?, 'Bench', 'user', ?, ?)",
      args: [benchUser, benchEmail, now, await hashPassword(benchPassword), now, now],
    });
  } finally {
    db.close();
  }
}
