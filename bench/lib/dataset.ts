// The benchmark dataset (1k users, 10k posts, seeded deterministically) in a fresh libSQL file,
// migrated and ANALYZEd, with one user who can log in. Every target gets a copy of it.
import { createClient } from "@libsql/client";
import { seed, seedPostId, seedUserId } from "../../scripts/seed-data";
import { hashPassword } from "../../src/core/accounts/passwords";
import { migrateDatabase, optimizeDatabase } from "../../src/platform/node/migrate";
import type { Scenario } from "./load";

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

/** Logs the bench user in on a Nearbase target; the access token for the bearer scenarios. */
export async function benchToken(url: string): Promise<string> {
  const res = await fetch(`${url}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: benchEmail, password: benchPassword }),
  });
  return ((await res.json()) as { accessToken: string }).accessToken;
}

/**
 * The Node home's single-target scenarios on this dataset (bench:profile, bench/ab-node.ts), by
 * name; the bearer ones take the bench user's token. A create writes a draft titled "bench".
 */
export const nodeScenarios: Record<string, (token: string) => Scenario> = {
  list: () => ({
    id: "1",
    title: "public list of 20",
    path: "/api/collections/posts/records?limit=20",
  }),
  cache: () => ({
    id: "2",
    title: "public list, cache hit",
    path: "/api/collections/posts/records?limit=20",
  }),
  total: () => ({
    id: "3",
    title: "list + total",
    path: "/api/collections/posts/records?limit=20&total=true",
  }),
  owner: (token) => ({
    id: "4",
    title: "owner-only list",
    path: "/api/collections/bookmarks/records?limit=20",
    headers: { authorization: `Bearer ${token}` },
  }),
  get: () => ({
    id: "5",
    title: "get one by id",
    path: `/api/collections/posts/records/${samplePostId}`,
  }),
  create: (token) => ({
    id: "6",
    title: "create",
    method: "POST",
    path: "/api/collections/posts/records",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ title: "bench", body: "", status: "draft", tags: [] }),
  }),
};
