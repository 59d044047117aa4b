import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { createClient } from "@libsql/client";

/** A client for DATABASE_URL (default: the Node home's file, its folder created), and the URL with any credentials masked. */
export function openDatabase() {
  const url = process.env.DATABASE_URL || "file:./data/nearbase.db";
  if (url.startsWith("file:"))
    mkdirSync(dirname(resolve(url.slice("file:".length))), { recursive: true });
  const client = createClient({ url, authToken: process.env.DATABASE_AUTH_TOKEN || undefined });
  return { client, shown: url.replace(/\/\/[^@/]*@/, "//***@") };
}
