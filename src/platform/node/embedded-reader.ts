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
  statements: Map<string, Prepared>;
  /** When the read running on it is interrupted (performance.now()); undefined when idle. */
  deadline: number | undefined;
}

/** A statement prepared once per connection, with what its rows look like (read once). */
interface Prepared {
  statement: Statement;
  columns: string[];
  columnTypes: string[];
  /** The prototype of its rows: values by index (getters) and `length`. */
  rowPrototype: object;
  /** The column names that become row properties (see `propertyNames`). */
  names: (string | undefined)[];
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
    idle.push({ db, statements: new Map(), deadline: undefined });
  }
  const connections = [...idle];
  // query_only refuses any write on these connections, whatever SQL reaches them.
  let isReady = false;
  const ready = Promise.all(idle.map((c) => c.db.exec("PRAGMA query_only = ON"))).then(() => {
    isReady = true;
  });

  // One watchdog timer for every connection, armed for the earliest deadline, instead of a timer
  // made and cleared around each read: a read still running at its deadline is interrupted just
  // the same (to the timer's millisecond), and the next deadline arms it again.
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  function arm(ms: number) {
    watchdog = setTimeout(watch, Math.max(1, Math.ceil(ms)));
    watchdog.unref?.();
  }
  function watch() {
    watchdog = undefined;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const c of connections) {
      if (c.deadline === undefined) continue;
      if (c.deadline <= now) {
        c.deadline = undefined;
        c.db.interrupt();
      } else next = Math.min(next, c.deadline);
    }
    if (next !== Number.POSITIVE_INFINITY) arm(next - now);
  }

  async function withConnection<T>(work: (connection: Connection) => Promise<T>): Promise<T> {
    if (!isReady) await ready;
    if (closed) throw new LibsqlError("The client is closed", "CLIENT_CLOSED");
    const connection =
      idle.pop() ?? (await new Promise<Connection>((resolve) => waiting.push(resolve)));
    // Deadlines only grow (one budget for all), so an armed watchdog fires in time for this one.
    connection.deadline = performance.now() + options.budgetMs;
    if (watchdog === undefined) arm(options.budgetMs);
    try {
      return await work(connection);
    } catch (err) {
      throw toLibsqlError(err);
    } finally {
      connection.deadline = undefined;
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
      clearTimeout(watchdog);
      watchdog = undefined;
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
    const statement = (await connection.db.prepare(sql)) as Statement;
    statement.raw(true).safeIntegers(true);
    const described = statement.columns();
    const columns = described.map((c) => c.name);
    prepared = {
      statement,
      columns,
      columnTypes: described.map((c) => c.type ?? ""),
      rowPrototype: rowPrototype(columns.length),
      names: propertyNames(columns),
    };
    if (connection.statements.size >= maxCachedStatements) connection.statements.clear();
    connection.statements.set(sql, prepared);
  }
  const { columns, columnTypes, rowPrototype: proto, names } = prepared;
  const raw = await prepared.statement.all(Array.isArray(args) ? args.map(toSql) : namedArgs(args));
  const rows = raw.map((values) => toRow(values, names, proto));
  return {
    columns,
    columnTypes,
    rows,
    rowsAffected: 0,
    lastInsertRowid: undefined,
    toJSON: () => ({ columns, columnTypes, rows: raw, rowsAffected: 0, lastInsertRowid: null }),
  };
}

export function namedArgs(args: Record<string, InValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(args)) out[name.replace(/^[@$:]/, "")] = toSql(value);
  return out;
}

export function toSql(value: InValue): unknown {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (value instanceof Date) return value.valueOf();
  if (typeof value === "number" && !Number.isFinite(value))
    throw new RangeError("Only finite numbers can be passed as arguments");
  return value;
}

const rowValues = Symbol("values");

/**
 * The shared part of every row with `width` columns: `length` and values by index, as
 * non-enumerable getters over the row's value array (made once per statement, not per row).
 */
export function rowPrototype(width: number): object {
  const proto: PropertyDescriptorMap = { length: { value: width } };
  for (let i = 0; i < width; i++)
    proto[i] = {
      get(this: { [rowValues]: unknown[] }) {
        return this[rowValues][i];
      },
    };
  return Object.create(Object.prototype, proto);
}

/**
 * A row like @libsql/client's: values by (enumerable) column name and by index. Only the names
 * are own properties, set by plain assignment — defining every property of every row one by one
 * was a visible share of a list's CPU time.
 */
export function toRow(values: unknown[], names: (string | undefined)[], proto: object): Row {
  const row = Object.create(proto) as Record<string | number | symbol, unknown>;
  for (let i = 0; i < values.length; i++) values[i] = fromSql(values[i]);
  Object.defineProperty(row, rowValues, { value: values });
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    if (name !== undefined) row[name] = values[i];
  }
  return row as unknown as Row;
}

/**
 * Which column names become properties, by position: the first of duplicates, and never a
 * name that is also an index of the row (as @libsql/client) or `__proto__`.
 */
export function propertyNames(columns: string[]): (string | undefined)[] {
  const seen = new Set<string>();
  return columns.map((name) => {
    const index = /^(0|[1-9]\d*)$/.test(name) && Number(name) < columns.length;
    if (index || name === "__proto__" || seen.has(name)) return undefined;
    seen.add(name);
    return name;
  });
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

export function toLibsqlError(err: unknown): unknown {
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
