import {
  type Client,
  type InArgs,
  type InStatement,
  type InValue,
  LibsqlError,
  type ResultSet,
  type Row,
  type TransactionMode,
} from "@libsql/client";
import Database from "libsql/promise";

export interface EmbeddedReaderOptions {
  /** The database file (the primary's own file: readers see every committed write). */
  path: string;
  /** Read connections; reads beyond this many wait for one to be free. */
  connections: number;
  /** A statement (or read batch) still running after this long is interrupted. */
  budgetMs: number;
}

/** The error code of a read stopped by the time budget (as @libsql/client names SQLite's). */
export const interruptedCode = "SQLITE_INTERRUPT";

interface Connection {
  db: Database;
  statements: Map<string, Statement>;
}

// libsql's statement object (untyped in its promise API).
interface Statement {
  raw(toggle: boolean): Statement;
  safeIntegers(toggle: boolean): Statement;
  columns(): { name: string; type: string | null }[];
  all(args: unknown): Promise<unknown[][]>;
}

const maxCachedStatements = 256;

/** How long a connection waits for another connection's (or process's) lock before SQLITE_BUSY. */
export const busyTimeoutMs = 5000;

/**
 * Read-only libSQL connections to the Node home's embedded file that run OFF the event loop
 * (libsql's async API executes on its own threads) and stop any statement that outlives
 * `budgetMs` with `sqlite3_interrupt`. So no request — however expensive its filter — can hold
 * the process: other requests and /health keep being served, and the slow read ends with
 * SQLITE_INTERRUPT, which the records layer answers as a 400. Writes stay on the primary
 * client. The file must be in WAL mode so readers never wait for a writer.
 */
export function embeddedReader(options: EmbeddedReaderOptions): Client {
  const idle: Connection[] = [];
  const waiting: ((connection: Connection) => void)[] = [];
  let closed = false;
  for (let i = 0; i < options.connections; i++) {
    const db = new Database(options.path, { timeout: busyTimeoutMs });
    idle.push({ db, statements: new Map() });
  }
  // query_only refuses any write on these connections, whatever SQL reaches them.
  const ready = Promise.all(idle.map((c) => c.db.exec("PRAGMA query_only = ON")));

  async function withConnection<T>(work: (connection: Connection) => Promise<T>): Promise<T> {
    await ready;
    if (closed) throw new LibsqlError("The client is closed", "CLIENT_CLOSED");
    const connection =
      idle.pop() ?? (await new Promise<Connection>((resolve) => waiting.push(resolve)));
    const timer = setTimeout(() => connection.db.interrupt(), options.budgetMs);
    try {
      return await work(connection);
    } catch (err) {
      throw toLibsqlError(err);
    } finally {
      clearTimeout(timer);
      const next = waiting.shift();
      if (next) next(connection);
      else idle.push(connection);
    }
  }

  const client = {
    protocol: "file",
    get closed() {
      return closed;
    },
    execute(stmt: InStatement | string, args?: InArgs): Promise<ResultSet> {
      const statement = typeof stmt === "string" ? { sql: stmt, args: args ?? [] } : stmt;
      return withConnection((connection) => run(connection, statement));
    },
    batch(stmts: (InStatement | [string, InArgs?])[], mode: TransactionMode = "deferred") {
      if (mode === "write") return refuse("batch in write mode");
      return withConnection(async (connection) => {
        // One read transaction, so every statement sees the same snapshot (a page and its total).
        await connection.db.exec("BEGIN DEFERRED");
        try {
          const results: ResultSet[] = [];
          for (const s of stmts) {
            const statement = Array.isArray(s) ? { sql: s[0], args: s[1] ?? [] } : s;
            results.push(await run(connection, statement));
          }
          return results;
        } finally {
          await connection.db.exec("ROLLBACK").catch(() => {});
        }
      });
    },
    migrate: () => refuse("migrate"),
    transaction: () => refuse("transaction"),
    executeMultiple: () => refuse("executeMultiple"),
    sync: () => Promise.resolve(undefined),
    reconnect: () => {},
    close() {
      closed = true;
      for (const c of idle) c.db.close();
    },
  };
  return client as unknown as Client;
}

function refuse(what: string): Promise<never> {
  return Promise.reject(
    new LibsqlError(`${what} is not available on the embedded read connections`, "READ_ONLY"),
  );
}

async function run(connection: Connection, stmt: InStatement): Promise<ResultSet> {
  const { sql } = typeof stmt === "string" ? { sql: stmt } : stmt;
  const args = typeof stmt === "string" ? [] : (stmt.args ?? []);
  let prepared = connection.statements.get(sql);
  if (prepared === undefined) {
    prepared = (await connection.db.prepare(sql)) as Statement;
    prepared.raw(true).safeIntegers(true);
    if (connection.statements.size >= maxCachedStatements) connection.statements.clear();
    connection.statements.set(sql, prepared);
  }
  const columns = prepared.columns().map((c) => c.name);
  const columnTypes = prepared.columns().map((c) => c.type ?? "");
  const raw = await prepared.all(Array.isArray(args) ? args.map(toSql) : namedArgs(args));
  const rows = raw.map((values) => toRow(values, columns));
  return {
    columns,
    columnTypes,
    rows,
    rowsAffected: 0,
    lastInsertRowid: undefined,
    toJSON: () => ({ columns, columnTypes, rows: raw, rowsAffected: 0, lastInsertRowid: null }),
  };
}

function namedArgs(args: Record<string, InValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(args)) out[name.replace(/^[@$:]/, "")] = toSql(value);
  return out;
}

function toSql(value: InValue): unknown {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (value instanceof Date) return value.valueOf();
  if (typeof value === "number" && !Number.isFinite(value))
    throw new RangeError("Only finite numbers can be passed as arguments");
  return value;
}

/** A row like @libsql/client's: values by index and (enumerable) by column name. */
function toRow(values: unknown[], columns: string[]): Row {
  const row: Record<string | number, unknown> = {};
  Object.defineProperty(row, "length", { value: values.length });
  values.forEach((raw, i) => {
    const value = fromSql(raw);
    Object.defineProperty(row, i, { value });
    const name = columns[i]!;
    if (!Object.hasOwn(row, name))
      Object.defineProperty(row, name, { value, enumerable: true, writable: true });
  });
  return row as Row;
}

function fromSql(value: unknown): unknown {
  if (typeof value === "bigint") {
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER))
      throw new RangeError("Received integer which cannot be safely represented as a number");
    return Number(value);
  }
  if (value instanceof Uint8Array)
    return value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength);
  return value;
}

function toLibsqlError(err: unknown): unknown {
  if (err instanceof LibsqlError) return err;
  const e = err as { code?: unknown; message?: unknown; rawCode?: unknown };
  if (typeof e?.code === "string" && e.code.startsWith("SQLITE_")) {
    const base = e.code.split("_").slice(0, 2).join("_");
    return new LibsqlError(
      String(e.message),
      base,
      e.code,
      typeof e.rawCode === "number" ? e.rawCode : undefined,
      err as Error,
    );
  }
  return err;
}
