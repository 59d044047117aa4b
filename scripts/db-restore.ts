// `npm run db:restore -- <snapshot.db>`: puts a snapshot made by `npm run db:backup` back.
// Embedded (DATABASE_URL unset or file:): stop the server first; the current file is moved
// aside (…before-restore-<time>), never deleted. Remote (a new, EMPTY Turso database or libSQL
// server): schema and rows are loaded; a database with tables is refused.
// Either way the snapshot is integrity-checked first, and a snapshot that applied migrations
// this code does not know (made by a newer version) is refused.
import { parseArgs } from "node:util";
import { createClient } from "@libsql/client";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { migrationsFolder } from "../src/platform/node/migrate";
import { openDatabase } from "./db";
import { appliedMigrations, filePathOf, restoreToFile, restoreToRemote } from "./lib/backup";

const { positionals } = parseArgs({ allowPositionals: true, strict: true });
const snapshot = positionals[0];
if (snapshot === undefined || positionals.length !== 1) {
  console.error("usage: npm run db:restore -- <snapshot.db>");
  process.exit(2);
}

try {
  // drizzle records each migration by the SHA-256 of its SQL file: a hash this checkout does not
  // have means the snapshot is from a newer version of the app.
  const known = new Set(readMigrationFiles({ migrationsFolder }).map((m) => m.hash));
  const snap = createClient({ url: `file:${snapshot}` });
  const unknown = (await appliedMigrations(snap)).filter((h) => !known.has(h));
  snap.close();
  if (unknown.length > 0)
    throw new Error(
      `the snapshot applied ${unknown.length} migration(s) this version does not have: restore it with the version that made it`,
    );

  const url = process.env.DATABASE_URL || "file:./data/nearbase.db";
  const path = filePathOf(url);
  if (path !== undefined) {
    const report = await restoreToFile(snapshot, path);
    console.log(
      `restored ${snapshot} → ${report.target}${report.previous ? ` (the previous file is now ${report.previous})` : ""}`,
    );
  } else {
    const { client, shown } = openDatabase();
    try {
      await restoreToRemote(snapshot, client);
      console.log(`restored ${snapshot} → ${shown}`);
    } finally {
      client.close();
    }
  }
  console.log("start the server (or run `npm run db:migrate`) to apply any newer migrations");
} catch (err) {
  console.error(`restore failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
