import { existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { type Client, createClient, type InValue } from "@libsql/client";

/*
 * Backups and restores for both homes, one format: a plain SQLite/libSQL database file.
 *
 * - An embedded database (`file:` URL, the Node home) is copied with `VACUUM INTO`: a consistent
 *   snapshot taken while the server keeps serving (WAL lets readers and the snapshot run beside
 *   the writer), compacted, with no -wal file to forget.
 * - A remote database (Turso `libsql://`, or any Hrana HTTP server) cannot `VACUUM INTO` a file on
 *   this machine, so it is copied logically inside ONE read transaction (a consistent snapshot):
 *   the schema from sqlite_schema, then every table's rows in pages. Turso's own point-in-time
 *   restore (`turso db create <new> --from-db <db> --timestamp …`) stays the first tool for a
 *   hosted database; this gives you a file you own as well.
 *
 * Either way the snapshot is checked (`PRAGMA integrity_check`) before it is called done, it
 * carries drizzle's migration journal (`__drizzle_migrations`), and it is written to a temporary
 * name first, so a half-written backup never carries the final name.
 */

export interface BackupReport {
  path: string;
  bytes: number;
  method: "vacuum-into" | "logical-copy";
  /** Row count per table in the snapshot. */
  tables: Record<string, number>;
  /** How many migrations the snapshot has applied. */
  migrations: number;
}

/** The file path of a `file:` URL, or undefined for a remote database. */
export function filePathOf(url: string): string | undefined {
  if (!url.startsWith("file:")) return undefined;
  return resolve(url.slice("file:".length).replace(/^\/\/(?=\/)/, ""));
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** Takes a consistent snapshot of `source` into `outPath` (which must not exist). */
export async function backupDatabase(source: Client, sourceUrl: string, outPath: string) {
  const target = resolve(outPath);
  if (existsSync(target)) throw new Error(`${target} already exists: choose a new name`);
  mkdirSync(dirname(target), { recursive: true });
  const partial = `${target}.partial`;
  rmSync(partial, { force: true });
  let method: BackupReport["method"];
  try {
    if (filePathOf(sourceUrl) !== undefined) {
      method = "vacuum-into";
      await source.execute(`VACUUM INTO ${sqlString(partial)}`);
      await rebuildVectorIndexes(partial);
    } else {
      method = "logical-copy";
      await logicalCopy(source, partial);
    }
    const report = await inspectSnapshot(partial);
    renameSync(partial, target);
    return { ...report, path: target, method } satisfies BackupReport;
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  }
}

/**
 * libSQL's VACUUM INTO copies a vector index's metadata table (libsql_vector_meta_shadow, WITHOUT
 * ROWID) out of key order, and integrity_check then calls the copy damaged (libsql 0.5; the
 * source is fine). Dropping and re-creating each vector index in the copy rebuilds it from the
 * rows it indexes, in order.
 */
async function rebuildVectorIndexes(path: string): Promise<void> {
  const db = createClient({ url: `file:${path}` });
  try {
    const indexes = await db.execute(
      "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql LIKE '%libsql_vector_idx%'",
    );
    for (const { name, sql } of indexes.rows) {
      await db.batch([`DROP INDEX ${quoteIdent(String(name))}`, String(sql)], "write");
    }
  } finally {
    db.close();
  }
}

/** Schema objects in creation order: tables first, then indexes, triggers and views. */
async function schemaOf(db: Pick<Client, "execute">) {
  const rows = await db.execute(
    `SELECT type, name, tbl_name, sql FROM sqlite_schema
      WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'libsql_%'
      ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 WHEN 'trigger' THEN 2 ELSE 3 END, rowid`,
  );
  return rows.rows.map((r) => ({
    type: String(r.type),
    name: String(r.name),
    table: String(r.tbl_name),
    sql: String(r.sql),
  }));
}

const pageSize = 2_000;

async function logicalCopy(source: Client, partialPath: string): Promise<void> {
  const out = createClient({ url: `file:${partialPath}` });
  // One read transaction: every page of every table comes from the same snapshot.
  const tx = await source.transaction("read");
  try {
    await copyDatabase(tx, out);
  } finally {
    tx.close();
    out.close();
  }
}

/**
 * Copies every schema object and row of `from` into the empty database `to`: tables, then rows
 * in pages, then indexes, triggers and views (so triggers do not fire during the copy).
 * Tables a virtual table makes for itself (FTS5 `_data`, `_idx`…) come with its CREATE and their
 * rows are copied like any other; a vector index's shadow tables are rebuilt by its CREATE (after
 * the rows) instead.
 */
async function copyDatabase(from: Pick<Client, "execute">, to: Client): Promise<void> {
  const objects = await schemaOf(from);
  const vectorShadows = new Set(
    objects
      .filter((o) => o.type === "index" && /libsql_vector_idx/i.test(o.sql))
      .map((o) => `${o.name}_shadow`),
  );
  // A vector index's shadow table and the index on it come with the vector index's CREATE.
  const own = objects.filter((o) => !vectorShadows.has(o.name) && !vectorShadows.has(o.table));
  const tables = own.filter((o) => o.type === "table");
  for (const t of tables) {
    const exists = await to.execute({
      sql: "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?",
      args: [t.name],
    });
    if (exists.rows.length === 0) await to.execute(t.sql);
  }
  const sequences = await from
    .execute("SELECT name, seq FROM sqlite_sequence")
    .catch(() => ({ rows: [] as Record<string, unknown>[] }));
  for (const t of tables) {
    if (/^CREATE\s+VIRTUAL\s+TABLE/i.test(t.sql)) continue;
    const columns = (
      await from.execute(`SELECT name FROM pragma_table_info(${sqlString(t.name)})`)
    ).rows.map((c) => quoteIdent(String(c.name)));
    const insert = `INSERT OR REPLACE INTO ${quoteIdent(t.name)} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`;
    for (let offset = 0; ; offset += pageSize) {
      const page = await from.execute({
        sql: `SELECT ${columns.join(", ")} FROM ${quoteIdent(t.name)} LIMIT ? OFFSET ?`,
        args: [pageSize, offset],
      });
      if (page.rows.length === 0) break;
      await to.batch(
        page.rows.map((row) => ({ sql: insert, args: columns.map((_, i) => row[i] as InValue) })),
        "write",
      );
      if (page.rows.length < pageSize) break;
    }
  }
  // AUTOINCREMENT counters, so ids deleted before the backup are not handed out again.
  for (const s of sequences.rows) {
    await to.execute({
      sql: "UPDATE sqlite_sequence SET seq = ? WHERE name = ?",
      args: [s.seq as InValue, s.name as InValue],
    });
  }
  for (const o of own.filter((o) => o.type !== "table")) await to.execute(o.sql);
}

/** Checks a snapshot file and counts what it holds; throws if SQLite finds it damaged. */
export async function inspectSnapshot(
  path: string,
): Promise<Omit<BackupReport, "path" | "method">> {
  if (!existsSync(path)) throw new Error(`${path}: no such file`);
  const db = createClient({ url: `file:${path}` });
  try {
    const check = await db.execute("PRAGMA integrity_check");
    const verdict = check.rows.map((r) => String(r[0])).join("; ");
    if (verdict !== "ok") throw new Error(`${path} is damaged: ${verdict}`);
    const tables: Record<string, number> = {};
    for (const o of await schemaOf(db)) {
      if (o.type !== "table" || /^CREATE\s+VIRTUAL/i.test(o.sql)) continue;
      const n = await db.execute(`SELECT count(*) AS n FROM ${quoteIdent(o.name)}`);
      tables[o.name] = Number(n.rows[0]?.n ?? 0);
    }
    return {
      bytes: statSync(path).size,
      tables,
      migrations: tables.__drizzle_migrations ?? 0,
    };
  } finally {
    db.close();
  }
}

/** Migration hashes a database has applied, oldest first (empty for a fresh one). */
export async function appliedMigrations(db: Pick<Client, "execute">): Promise<string[]> {
  try {
    const rows = await db.execute("SELECT hash FROM __drizzle_migrations ORDER BY created_at, id");
    return rows.rows.map((r) => String(r.hash));
  } catch {
    return [];
  }
}

export interface RestoreReport {
  target: string;
  /** Where the database that was there before went (nothing is deleted). */
  previous?: string;
  tables: Record<string, number>;
}

/**
 * Restores a snapshot onto an embedded database file: the snapshot is checked first, the
 * current file (and its -wal/-shm) is moved aside, never deleted, and the snapshot is copied in
 * under a temporary name, then renamed. Stop the server first: a running process would keep
 * its handle on the old file.
 */
export async function restoreToFile(snapshot: string, targetPath: string): Promise<RestoreReport> {
  const report = await inspectSnapshot(snapshot);
  const target = resolve(targetPath);
  mkdirSync(dirname(target), { recursive: true });
  const staged = `${target}.restoring`;
  rmSync(staged, { force: true });
  // A copy through SQLite (not a byte copy): the result is a clean file in rollback-journal
  // form; the Node home turns WAL on when it opens it.
  const from = createClient({ url: `file:${resolve(snapshot)}` });
  try {
    await from.execute(`VACUUM INTO ${sqlString(staged)}`);
  } finally {
    from.close();
  }
  await rebuildVectorIndexes(staged);
  let previous: string | undefined;
  if (existsSync(target)) {
    previous = `${target}.before-restore-${new Date().toISOString().replaceAll(":", "-")}`;
    renameSync(target, previous);
    for (const suffix of ["-wal", "-shm"]) {
      if (existsSync(target + suffix)) renameSync(target + suffix, previous + suffix);
    }
  }
  renameSync(staged, target);
  return { target, ...(previous === undefined ? {} : { previous }), tables: report.tables };
}

/**
 * Restores a snapshot into an EMPTY remote database (a new Turso database, or a local libSQL
 * server): schema, then rows in batches, then indexes and triggers. Refuses a database that
 * already has tables, so a restore never merges into live data.
 */
export async function restoreToRemote(snapshot: string, target: Client): Promise<RestoreReport> {
  const report = await inspectSnapshot(snapshot);
  const existing = (await schemaOf(target)).filter((o) => o.type === "table");
  if (existing.length > 0)
    throw new Error(
      `the target database is not empty (${existing.length} tables, e.g. ${existing[0]?.name}): restore into a new database`,
    );
  const from = createClient({ url: `file:${resolve(snapshot)}` });
  try {
    await copyDatabase(from, target);
  } finally {
    from.close();
  }
  return { target: "remote", tables: report.tables };
}
