import type { Client } from "@libsql/client";
import { drizzle, type LibSQLDatabase } from "drizzle-orm/libsql";
import * as system from "./schema/index";

export type Database = LibSQLDatabase<typeof system>;

/** Wraps a libSQL client (embedded file or HTTP) in drizzle with the project's naming rules. */
export function createDatabase(client: Client): Database {
  return drizzle(client, { schema: system, casing: "snake_case" });
}
