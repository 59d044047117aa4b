import { getTableColumns, getTableName } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { columnName } from "../records/columns";
import type { CollectionDefinition } from "../records/define";
import { fileFields } from "./spec";

/**
 * The SQL triggers that keep storage and records in step, for every file field of `defs`: an
 * insert or update claims the uploads it names (their `upload` rows go), an update that drops a
 * file and a delete of the record (by the API, a cascade, an erasure or a retention job alike)
 * enqueue the freed objects in nb_file_deletions, in the same transaction as the change.
 *
 * drizzle-kit does not write triggers: put this SQL in a custom migration
 * (`npm run db:generate -- --custom --name <name>`) when a file field is added, renamed or
 * removed; test/node/files-triggers.test.ts fails until the migrated database has exactly these.
 */
export function fileTriggerSql(defs: readonly CollectionDefinition[]): string[] {
  const out: string[] = [];
  for (const def of defs) {
    const table = getTableName(def.table);
    const columns = getTableColumns(def.table) as Record<string, SQLiteColumn>;
    const id = columnName(columns.id!);
    for (const field of fileFields(def.options.files)) {
      const col = columnName(columns[field.name]!);
      const names = (row: "NEW" | "OLD") =>
        field.multiple
          ? `COALESCE(${row}."${col}", '[]')`
          : `CASE WHEN ${row}."${col}" IS NULL THEN '[]' ELSE json_array(${row}."${col}") END`;
      const key = (row: "NEW" | "OLD") =>
        `'${def.name}/' || ${row}."${id}" || '/${field.name}/' || value`;
      const prefix = `nb_files_${table}_${col}`;
      const claim = `DELETE FROM nb_file_deletions WHERE reason = 'upload' AND key IN (SELECT ${key("NEW")} FROM json_each(${names("NEW")}));`;
      const free = (kept: string) =>
        `INSERT OR IGNORE INTO nb_file_deletions (key, due_at, reason, attempts) SELECT ${key("OLD")}, unixepoch() * 1000, 'removed', 0 FROM json_each(${names("OLD")})${kept};`;
      out.push(
        `CREATE TRIGGER ${prefix}_insert AFTER INSERT ON "${table}"\nBEGIN\n  ${claim}\nEND;`,
        `CREATE TRIGGER ${prefix}_update AFTER UPDATE OF "${col}" ON "${table}"\nBEGIN\n  ${claim}\n  ${free(` WHERE value NOT IN (SELECT value FROM json_each(${names("NEW")}))`)}\nEND;`,
        `CREATE TRIGGER ${prefix}_delete AFTER DELETE ON "${table}"\nBEGIN\n  ${free("")}\nEND;`,
      );
    }
  }
  return out;
}
