import {
  type Client,
  createClient,
  type InArgs,
  type InStatement,
  LibsqlBatchError,
  LibsqlError,
  type ResultSet,
  type TransactionMode,
} from "@libsql/client";
import Database from "libsql";
import {
  busyTimeoutMs,
  namedArgs,
  propertyNames,
  rowPrototype,
  toLibsqlError,
  toRow,
  toSql,
} from "./embedded-reader";

/** A statement prepared once, with whether it returns rows and what they look like. */
interface Prepared {
  statement: SyncStatement;
  reader: boolean;
  columns: string[];
  columnTypes: string[];
  rowPrototype: object;
  names: (string | undefined)[];
}

// libsql's synchronous statement (its types say less than this).
interface SyncStatement {
  raw(toggle: boolean): SyncStatement;
  safeIntegers(toggle: boolean): SyncStatement;
  columns(): { name: string; type: string | null }[];
  all(args: unknown): unknown[][];
  run(args: unknown): { changes: number; lastInsertRowid: number | bigint };
}

const maxCachedStatements = 512;

/**
 * How long one synchronous call may wait inside SQLite for a lock another process holds
 * (NODE_WORKERS, a CLI script). The call blocks the event loop while it waits, so this is kept
 * short; a longer wait is spent asleep between attempts (`lockRetryDelaysMs`), off the loop,
 * for up to `busyTimeoutMs` in all, as SQLite's own busy handler would.
 */
export const writerBusySliceMs = 5;
/** Pauses between attempts while another process holds the lock (the last one repeats). */
const lockRetryDelaysMs = [1, 2, 5, 10, 20, 50, 100];
// Statements that change the schema: cached statements' column lists may no longer hold.
const schemaChange = /^\s*(create|alter|drop)\b/i;

/**
 * The Node home's primary connection to its embedded file: one synchronous libSQL connection,
 * as @libsql/client's `file:` client with `concurrency: 1`, but every statement is prepared
 * once and reused, with its column names and row shape read once. @libsql/client prepares,
 * describes and switches every statement to raw mode on each call: in a profile of creates
 * that was ~12 % of the main thread (prepare 7 %, raw 3.8 %, columns 1 %).
 *
 * A lock held by another process (NODE_WORKERS, a CLI script) is waited for without holding the
 * event loop: SQLite waits at most `writerBusySliceMs` per call, then the call is retried after
 * a pause, in arrival order, until `busyTimeoutMs` has passed (then SQLITE_BUSY, a 503).
 *
 * Same results and errors as @libsql/client (rows by name and index, rowsAffected,
 * lastInsertRowid, LibsqlError/LibsqlBatchError codes). Interactive transactions, which hold a
 * connection across awaits, go to a second connection (a plain @libsql/client with the same
 * pragmas); nothing on the request path uses them.
 */
export function embeddedWriter(
  path: string,
  options: {
    /** Called when a call finds the lock held and starts waiting for it. */
    onLockWait?: () => void;
    /** PRAGMA synchronous of the interactive-transaction connection (the caller sets the main one's). */
    synchronous?: "normal" | "full";
  } = {},
): Client {
  const connect = () => {
    const connection = new Database(path, { timeout: writerBusySliceMs });
    connection.exec(`PRAGMA synchronous = ${(options.synchronous ?? "normal").toUpperCase()}`);
    return connection;
  };
  let db = connect();
  const statements = new Map<string, Prepared>();
  /**
   * A fresh connection in place of this one, after a call failed with SQLITE_BUSY. SQLite does not
   * halt a statement that fails with SQLITE_BUSY (it may be stepped again) and the binding cannot
   * reset one: until it runs again or is garbage-collected it stays an active write, and every
   * later autocommit write on the connection stayed uncommitted behind it — acknowledged to its
   * client, invisible to every reader, lost at a crash (embedded-writer.test.ts, "a write after a
   * lock wait that timed out is committed"). The stale connection is closed (its pending
   * statement with it) and the statement cache starts again.
   */
  const replaceConnection = () => {
    const stale = db;
    statements.clear();
    db = connect();
    try {
      stale.close();
    } catch {
      // It goes anyway.
    }
  };
  let closed = false;
  let interactive: Client | undefined;

  function prepared(sql: string): Prepared {
    let p = statements.get(sql);
    if (p !== undefined) return p;
    const statement = db.prepare(sql) as unknown as SyncStatement;
    statement.safeIntegers(true);
    let reader = true;
    try {
      statement.raw(true);
    } catch {
      // raw() refuses statements that return no rows.
      reader = false;
    }
    const described = reader ? statement.columns() : [];
    const columns = described.map((c) => c.name);
    p = {
      statement,
      reader,
      columns,
      columnTypes: described.map((c) => c.type ?? ""),
      rowPrototype: rowPrototype(columns.length),
      names: propertyNames(columns),
    };
    if (statements.size >= maxCachedStatements) statements.clear();
    if (!schemaChange.test(sql)) statements.set(sql, p);
    return p;
  }

  function run(stmt: InStatement): ResultSet {
    const { sql, args = [] } = typeof stmt === "string" ? { sql: stmt } : stmt;
    const bound = Array.isArray(args) ? args.map(toSql) : namedArgs(args);
    try {
      const p = prepared(sql);
      if (schemaChange.test(sql)) statements.clear();
      if (p.reader) {
        const raw = p.statement.all(bound);
        const rows = raw.map((values) => toRow(values, p.names, p.rowPrototype));
        return resultSet(p.columns, p.columnTypes, rows, raw, 0, undefined);
      }
      const info = p.statement.run(bound);
      return resultSet([], [], [], [], info.changes, BigInt(info.lastInsertRowid));
    } catch (err) {
      throw toLibsqlError(err);
    }
  }

  function inTransaction<T>(begin: string, stmts: InStatement[]): T[] {
    run(begin);
    try {
      const results = stmts.map((s, i) => {
        try {
          if (!db.inTransaction)
            throw new LibsqlBatchError(
              "The transaction has been rolled back",
              i,
              "TRANSACTION_CLOSED",
            );
          return run(s);
        } catch (err) {
          if (err instanceof LibsqlBatchError || !(err instanceof LibsqlError)) throw err;
          throw new LibsqlBatchError(
            err.message,
            i,
            err.code,
            err.extendedCode,
            err.rawCode,
            err.cause instanceof Error ? err.cause : undefined,
          );
        }
      });
      run("COMMIT");
      return results as T[];
    } finally {
      if (db.inTransaction) db.exec("ROLLBACK");
    }
  }

  const usable = () => {
    if (closed) throw new LibsqlError("The client is closed", "CLIENT_CLOSED");
  };
  // Calls that found the lock taken wait here, in arrival order; while any waits, later calls
  // queue behind it (a write never overtakes an earlier one).
  let waiting = 0;
  let tail: Promise<unknown> = Promise.resolve();
  const attempt = <T>(work: () => T): Promise<T> => {
    const deadline = performance.now() + busyTimeoutMs;
    if (waiting === 0) {
      try {
        usable();
        return Promise.resolve(work());
      } catch (err) {
        if (!lockBusy(err)) return Promise.reject(err);
        replaceConnection();
      }
      options.onLockWait?.();
    }
    waiting++;
    const result = tail.then(() => retry(work, deadline));
    tail = result.catch(() => undefined);
    return result.finally(() => waiting--);
  };
  // Every call retried here is all-or-nothing when it fails with SQLITE_BUSY: one statement, or
  // a transaction `inTransaction` has rolled back.
  const retry = async <T>(work: () => T, deadline: number): Promise<T> => {
    for (let i = 0; ; i++) {
      try {
        usable();
        return work();
      } catch (err) {
        if (!lockBusy(err)) throw err;
        replaceConnection();
        if (performance.now() >= deadline) throw err;
      }
      const pause = lockRetryDelaysMs[Math.min(i, lockRetryDelaysMs.length - 1)]!;
      await sleep(Math.max(1, Math.min(pause, deadline - performance.now())));
    }
  };
  const normalise = (s: InStatement | [string, InArgs?]): InStatement =>
    Array.isArray(s) ? { sql: s[0], args: s[1] ?? [] } : s;

  const client = {
    protocol: "file",
    get closed() {
      return closed;
    },
    execute(stmt: InStatement | string, args?: InArgs) {
      return attempt(() => run(typeof stmt === "string" ? { sql: stmt, args: args ?? [] } : stmt));
    },
    batch(stmts: (InStatement | [string, InArgs?])[], mode: TransactionMode = "deferred") {
      return attempt(() => inTransaction<ResultSet>(beginFor(mode), stmts.map(normalise)));
    },
    migrate(stmts: InStatement[]) {
      return attempt(() => {
        statements.clear();
        db.exec("PRAGMA foreign_keys = off");
        try {
          return inTransaction<ResultSet>("BEGIN DEFERRED", stmts);
        } finally {
          db.exec("PRAGMA foreign_keys = on");
          statements.clear();
        }
      });
    },
    executeMultiple(sql: string) {
      // Several statements, each committed on its own: a retry could apply the first ones
      // twice, so this waits for the lock inside SQLite (start-up only: migrations, ANALYZE).
      return attempt(() => {
        db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
        try {
          db.exec(sql);
        } catch (err) {
          throw toLibsqlError(err);
        } finally {
          db.exec(`PRAGMA busy_timeout = ${writerBusySliceMs}`);
          statements.clear();
        }
      });
    },
    async transaction(mode: TransactionMode = "write") {
      usable();
      if (interactive === undefined) {
        interactive = createClient({ url: `file:${path}`, concurrency: 1, timeout: busyTimeoutMs });
        await interactive.execute(
          `PRAGMA synchronous = ${(options.synchronous ?? "normal").toUpperCase()}`,
        );
      }
      return interactive.transaction(mode);
    },
    sync: () => Promise.resolve(undefined),
    reconnect: () => {},
    close() {
      if (closed) return;
      closed = true;
      statements.clear();
      db.close();
      interactive?.close();
    },
  };
  return client as unknown as Client;
}

/** Another connection or process holds the lock this call needed (SQLITE_BUSY and its extended codes). */
function lockBusy(err: unknown): boolean {
  const code = err instanceof LibsqlError ? err.code : undefined;
  return code !== undefined && (code === "SQLITE_BUSY" || code.startsWith("SQLITE_BUSY_"));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function beginFor(mode: TransactionMode): string {
  if (mode === "write") return "BEGIN IMMEDIATE";
  if (mode === "read") return "BEGIN TRANSACTION READONLY";
  if (mode === "deferred") return "BEGIN DEFERRED";
  throw new RangeError(
    'Unknown transaction mode, supported values are "write", "read" and "deferred"',
  );
}

function resultSet(
  columns: string[],
  columnTypes: string[],
  rows: ResultSet["rows"],
  raw: unknown[][],
  rowsAffected: number,
  lastInsertRowid: bigint | undefined,
): ResultSet {
  return {
    columns,
    columnTypes,
    rows,
    rowsAffected,
    lastInsertRowid,
    toJSON: () => ({
      columns,
      columnTypes,
      rows: raw,
      rowsAffected,
      lastInsertRowid: lastInsertRowid === undefined ? null : String(lastInsertRowid),
    }),
  };
}
