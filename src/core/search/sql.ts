import { getTableColumns, getTableName } from "drizzle-orm";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import { columnName } from "../records/columns";
import type { CollectionDefinition } from "../records/define";
import { resolveVector, vectorIndexOptions } from "./spec";

/** The FTS5 table of a collection with `search`: `<table>_fts`. */
export function ftsTableName(table: SQLiteTable): string {
  return `${getTableName(table)}_fts`;
}

/** The vector index of a collection with `vector`: `<table>_<column>_idx`. */
export function vectorIndexName(table: SQLiteTable, field: string): string {
  const columns = getTableColumns(table) as Record<string, SQLiteColumn>;
  return `${getTableName(table)}_${columnName(columns[field]!)}_idx`;
}

const q = (name: string) => `"${name}"`;

/**
 * The SQL that full-text and vector search need, for every collection of `defs` that declares
 * them; drizzle-kit writes neither virtual tables, triggers nor vector indexes, so this goes into
 * a custom migration (`npm run db:generate -- --custom --name <name>`) when `search` or `vector`
 * is added or changed; the search suite (test/conformance/search.suite.ts, "builds the vector
 * index with the settings the collection declares") fails until the migrated index matches.
 *
 * Full text: an FTS5 external-content table over the collection's own rows (the text is stored
 * once, in the table), kept in step by triggers in the writing transaction — API writes, batches,
 * cascades, erasure and retention alike. Vectors: a `libsql_vector_idx` index, and a trigger
 * that marks the embedding stale (NULL, status `pending`) when a source field changes.
 */
export function searchMigrationSql(defs: readonly CollectionDefinition[]): string[] {
  const out: string[] = [];
  for (const def of defs) {
    const table = getTableName(def.table);
    const columns = getTableColumns(def.table) as Record<string, SQLiteColumn>;
    const col = (key: string) => q(columnName(columns[key]!));
    const search = def.options.search;
    if (search !== undefined) {
      const fts = ftsTableName(def.table);
      const cols = search.map(col);
      const values = (row: "NEW" | "OLD") => cols.map((c) => `${row}.${c}`).join(", ");
      const changed = cols.map((c) => `OLD.${c} IS NOT NEW.${c}`).join(" OR ");
      const remove = `INSERT INTO ${q(fts)} (${q(fts)}, rowid, ${cols.join(", ")}) VALUES ('delete', OLD.rowid, ${values("OLD")});`;
      const add = `INSERT INTO ${q(fts)} (rowid, ${cols.join(", ")}) VALUES (NEW.rowid, ${values("NEW")});`;
      out.push(
        `CREATE VIRTUAL TABLE ${q(fts)} USING fts5(${cols.join(", ")}, content=${q(table)}, content_rowid='rowid', tokenize='unicode61 remove_diacritics 2');`,
        `CREATE TRIGGER ${q(`${fts}_insert`)} AFTER INSERT ON ${q(table)}\nBEGIN\n  ${add}\nEND;`,
        `CREATE TRIGGER ${q(`${fts}_update`)} AFTER UPDATE OF ${cols.join(", ")} ON ${q(table)} WHEN ${changed}\nBEGIN\n  ${remove}\n  ${add}\nEND;`,
        `CREATE TRIGGER ${q(`${fts}_delete`)} AFTER DELETE ON ${q(table)}\nBEGIN\n  ${remove}\nEND;`,
        // Rows that existed before the table did.
        `INSERT INTO ${q(fts)} (${q(fts)}) VALUES ('rebuild');`,
      );
    }
    if (def.options.vector !== undefined) {
      const v = resolveVector(def.options.vector);
      const index = vectorIndexName(def.table, v.field);
      const source = v.source.map(col);
      out.push(
        `CREATE INDEX ${q(index)} ON ${q(table)} (libsql_vector_idx(${col(v.field)}, ${vectorIndexOptions(
          v,
        )
          .map((o) => `'${o}'`)
          .join(", ")}));`,
        `CREATE TRIGGER ${q(`${index}_stale`)} AFTER UPDATE OF ${source.join(", ")} ON ${q(table)} WHEN ${source.map((c) => `OLD.${c} IS NOT NEW.${c}`).join(" OR ")}\nBEGIN\n  UPDATE ${q(table)} SET ${col(v.field)} = NULL, ${col(v.status)} = 'pending' WHERE rowid = NEW.rowid;\nEND;`,
      );
    }
  }
  return out;
}
