// `npm run db:migrate`: applies pending migrations to DATABASE_URL (default: the Node home's
// embedded file; a Turso libsql:// URL with DATABASE_AUTH_TOKEN for production).
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { createClient } from "@libsql/client";
import { migrateDatabase } from "../src/platform/node/migrate";

const url = process.env.DATABASE_URL || "file:./data/nearbase.db";
if (url.startsWith("file:"))
  mkdirSync(dirname(resolve(url.slice("file:".length))), { recursive: true });
const client = createClient({ url, authToken: process.env.DATABASE_AUTH_TOKEN || undefined });
try {
  await migrateDatabase(client);
  console.log(`migrations applied to ${url.replace(/\/\/[^@/]*@/, "//***@")}`);
} finally {
  client.close();
}
