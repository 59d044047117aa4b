// `npm run seed`: deterministic demo data (SEED_USERS, SEED_POSTS) into DATABASE_URL, migrating
// first. Running it twice changes nothing (INSERT OR IGNORE on fixed ids).
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { createClient } from "@libsql/client";
import { migrateDatabase } from "../src/platform/node/migrate";
import { seed } from "./seed-data";

const url = process.env.DATABASE_URL || "file:./data/nearbase.db";
if (url.startsWith("file:"))
  mkdirSync(dirname(resolve(url.slice("file:".length))), { recursive: true });
const client = createClient({ url, authToken: process.env.DATABASE_AUTH_TOKEN || undefined });
try {
  await migrateDatabase(client);
  const users = Number(process.env.SEED_USERS ?? 50);
  const posts = Number(process.env.SEED_POSTS ?? 200);
  await seed(client, { users, posts });
  console.log(
    `seeded ${users} users' profiles and ${posts} posts (+ comments, bookmarks) into ${url.replace(/\/\/[^@/]*@/, "//***@")}`,
  );
} finally {
  client.close();
}
