// `npm run db:backup [-- --out <file>]`: a consistent snapshot of DATABASE_URL (default: the Node
// home's embedded file) into a new database file, checked before it is called done.
// Embedded file: VACUUM INTO while the server runs. Remote (Turso, a libSQL server): a logical
// copy inside one read transaction. See docs/operations.md "Backups and restore".
import { parseArgs } from "node:util";
import { openDatabase } from "./db";
import { backupDatabase } from "./lib/backup";

const { values } = parseArgs({ options: { out: { type: "string" } }, strict: true });
const stamp = new Date()
  .toISOString()
  .replaceAll(":", "-")
  .replace(/\.\d+Z$/, "Z");
const out = values.out ?? `backups/nearbase-${stamp}.db`;

const { client, shown } = openDatabase();
try {
  const report = await backupDatabase(client, process.env.DATABASE_URL || "file:", out);
  const rows = Object.values(report.tables).reduce((a, b) => a + b, 0);
  console.log(
    `backup of ${shown} → ${report.path} (${report.method}, ${(report.bytes / 1024).toFixed(0)} KiB, ${Object.keys(report.tables).length} tables, ${rows} rows, ${report.migrations} migrations applied); integrity_check ok`,
  );
} catch (err) {
  console.error(`backup failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  client.close();
}
