import Database from "libsql";
import { scanSql } from "./sql-scan";

/**
 * Hrana (the libSQL remote protocol), JSON encoding, versions 2 and 3: the values, statements,
 * batches and results `@libsql/client` sends and expects, executed on one embedded libSQL
 * connection. See libsql's docs/HRANA_3_SPEC.md.
 */
export type HranaValue =
  | { type: "null" }
  | { type: "integer"; value: string }
  | { type: "float"; value: number }
  | { type: "text"; value: string }
  | { type: "blob"; base64: string };

export interface HranaStmt {
  sql?: string;
  sql_id?: number;
  args?: HranaValue[];
  named_args?: { name: string; value: HranaValue }[];
  want_rows?: boolean;
}

export type HranaCond =
  | { type: "ok" | "error"; step: number }
  | { type: "not"; cond: HranaCond }
  | { type: "and" | "or"; conds: HranaCond[] }
  | { type: "is_autocommit" };

export interface HranaBatchStep {
  condition?: HranaCond | null;
  stmt: HranaStmt;
}

export interface HranaError {
  message: string;
  code: string;
}

export interface HranaCol {
  name: string;
  decltype: string | null;
}

export interface HranaStmtResult {
  cols: HranaCol[];
  rows: HranaValue[][];
  affected_row_count: number;
  last_insert_rowid: string | null;
  rows_read: number;
  rows_written: number;
}

export interface HranaBatchResult {
  step_results: (HranaStmtResult | null)[];
  step_errors: (HranaError | null)[];
}

/** A malformed request: the whole HTTP request fails with 400 and its stream is closed. */
export class ProtocolError extends Error {}

/** A statement the server refuses before SQLite sees it; reported like a SQLite error. */
export class StmtError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type SqlValue = null | bigint | number | string | Buffer;

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

export function decodeValue(v: unknown): SqlValue {
  if (typeof v !== "object" || v === null) throw new ProtocolError("a value must be an object");
  const { type, value, base64 } = v as { type?: unknown; value?: unknown; base64?: unknown };
  switch (type) {
    case "null":
      return null;
    case "integer": {
      const n = typeof value === "string" && /^-?\d{1,19}$/.test(value) ? BigInt(value) : null;
      if (n === null || n < I64_MIN || n > I64_MAX)
        throw new ProtocolError("an integer value must be a 64-bit integer in a string");
      return n;
    }
    case "float":
      if (typeof value !== "number") throw new ProtocolError("a float value must be a number");
      return value;
    case "text":
      if (typeof value !== "string") throw new ProtocolError("a text value must be a string");
      return value;
    case "blob":
      if (typeof base64 !== "string") throw new ProtocolError("a blob value needs base64");
      return Buffer.from(base64, "base64");
    default:
      throw new ProtocolError(`unknown value type ${JSON.stringify(type)}`);
  }
}

/** Integers come from the binding as bigint (safeIntegers), so they round-trip past 2^53. */
export function encodeValue(v: unknown): HranaValue {
  if (v === null || v === undefined) return { type: "null" };
  if (typeof v === "bigint") return { type: "integer", value: v.toString() };
  if (typeof v === "number") return { type: "float", value: v };
  if (typeof v === "string") return { type: "text", value: v };
  if (v instanceof Uint8Array) return { type: "blob", base64: Buffer.from(v).toString("base64") };
  return { type: "text", value: String(v) };
}

/**
 * The code is the primary SQLite code (SQLITE_CONSTRAINT, not SQLITE_CONSTRAINT_UNIQUE), as sqld
 * reports it and as the embedded client's `code` is, so code written against this server behaves
 * the same on Turso and on a local file.
 */
export function toHranaError(err: unknown): HranaError {
  if (err instanceof StmtError) return { message: err.message, code: err.code };
  const e = err as { message?: unknown; code?: unknown } | null;
  const raw = typeof e?.message === "string" ? e.message : String(err);
  // The client prefixes the code itself; don't let it appear twice.
  const message = raw.replace(/^(SQLITE_[A-Z_]+: )+/, "");
  const code = typeof e?.code === "string" ? /^SQLITE_[A-Z]+/.exec(e.code)?.[0] : undefined;
  return { message, code: code ?? "SQLITE_ERROR" };
}

function array<T>(v: unknown, what: string): T[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ProtocolError(`${what} must be an array`);
  return v as T[];
}

function object<T>(v: unknown, what: string): T {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new ProtocolError(`${what} must be an object`);
  return v as T;
}

/** One client stream's connection plus the SQL texts it stored with `store_sql`. */
export class Connection {
  db: Database.Database;
  readonly sqls = new Map<number, string>();
  private lastTotalChanges: bigint;
  // The binding panics (aborting the process) on inTransaction of a closed database.
  private open = true;

  /** `readOnly` connections (a replica's) refuse writes, as a Turso replica would. */
  constructor(
    private readonly path: string,
    private readonly readOnly = false,
  ) {
    this.db = this.connect();
    this.lastTotalChanges = this.counters().total;
  }

  private connect(): Database.Database {
    const db = new Database(this.path);
    db.exec(
      this.readOnly
        ? "PRAGMA query_only = ON;"
        : "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;",
    );
    return db;
  }

  /**
   * A fresh SQLite connection in place of this one (same stored SQL), for a retry after
   * SQLITE_BUSY. A statement that failed with SQLITE_BUSY is not halted (SQLite lets it be
   * retried): until it is reset it keeps its read transaction open, and the binding has no reset —
   * only garbage collection finalizes it. A write retried on the same connection then stayed
   * uncommitted behind it and was lost when the connection closed, although the client had been
   * told it was applied (tools/libsql-server/server.test.ts, "lets a write wait …", failed
   * 9 runs in 16 under load). Only called in autocommit with nothing changed.
   */
  reopen(): void {
    const stale = this.db;
    this.db = this.connect();
    this.lastTotalChanges = this.counters().total;
    try {
      stale.close();
    } catch {
      // The stale connection goes anyway.
    }
  }

  private counters() {
    const row = this.db
      .prepare("SELECT total_changes(), changes(), last_insert_rowid()")
      .safeIntegers(true)
      .raw(true)
      .get() as unknown as [bigint, bigint, bigint];
    return { total: row[0], changes: row[1], rowid: row[2] };
  }

  /** Rows changed on this connection so far, triggers included. */
  totalChanges(): bigint {
    return this.counters().total;
  }

  get autocommit(): boolean {
    return !this.open || !this.db.inTransaction;
  }

  sqlOf(req: { sql?: unknown; sql_id?: unknown }): string {
    if (typeof req.sql === "string" && req.sql_id == null) return req.sql;
    if (typeof req.sql_id === "number" && req.sql == null) {
      const sql = this.sqls.get(req.sql_id);
      if (sql === undefined) throw new ProtocolError(`sql_id ${req.sql_id} was not stored`);
      return sql;
    }
    throw new ProtocolError("give exactly one of sql (a string) and sql_id (a number)");
  }

  storeSql(id: unknown, sql: unknown): void {
    if (typeof id !== "number" || typeof sql !== "string")
      throw new ProtocolError("store_sql needs sql_id (a number) and sql (a string)");
    if (this.sqls.has(id)) throw new ProtocolError(`sql_id ${id} is already stored`);
    if (this.sqls.size >= 1000) throw new ProtocolError("too many stored SQL texts");
    this.sqls.set(id, sql);
  }

  /** Parses and checks one statement: exactly one, with as many positional args as parameters. */
  private prepareOne(sql: string) {
    const shape = scanSql(sql);
    if (shape.statements === 0)
      throw new StmtError("SQL_NO_STATEMENT", "SQL string does not contain any statement");
    if (shape.statements > 1)
      throw new StmtError("SQL_MANY_STATEMENTS", "SQL string contains more than one statement");
    return { shape, prepared: this.db.prepare(sql).safeIntegers(true) };
  }

  execute(input: unknown): HranaStmtResult {
    const stmt = object<HranaStmt>(input, "stmt");
    const sql = this.sqlOf(stmt);
    const positional = array<HranaValue>(stmt.args, "args").map(decodeValue);
    const namedArgs = array<{ name?: unknown; value?: unknown }>(stmt.named_args, "named_args");
    const { shape, prepared } = this.prepareOne(sql);
    let args: SqlValue[] | Record<string, SqlValue> = positional;
    if (namedArgs.length > 0) {
      if (positional.length > 0)
        throw new StmtError(
          "ARGS_BOTH_POSITIONAL_AND_NAMED",
          "Specifying both positional and named arguments is not supported",
        );
      const named: Record<string, SqlValue> = {};
      for (const arg of namedArgs) {
        const { name, value } = object<{ name?: unknown; value?: unknown }>(arg, "named arg");
        if (typeof name !== "string") throw new ProtocolError("a named arg needs a name");
        named[name.replace(/^[:@$]/, "")] = decodeValue(value);
      }
      args = named;
    } else if (positional.length !== shape.params.length) {
      throw new StmtError(
        "ARGS_INVALID",
        `Arguments do not match SQL parameters: expected ${shape.params.length}, got ${positional.length}`,
      );
    }
    let cols: HranaCol[] = [];
    let rows: HranaValue[][] = [];
    if (prepared.reader) {
      prepared.raw(true);
      cols = prepared.columns().map((c) => ({ name: c.name, decltype: c.type ?? null }));
      const all = prepared.all(args) as unknown as unknown[][];
      if (stmt.want_rows !== false) rows = all.map((row) => row.map(encodeValue));
    } else {
      prepared.run(args);
    }
    // changes() keeps the count of the last INSERT/UPDATE/DELETE, so after a SELECT or DDL it
    // would repeat an old number: count only when total_changes() moved.
    const after = this.counters();
    const changed = after.total !== this.lastTotalChanges ? Number(after.changes) : 0;
    this.lastTotalChanges = after.total;
    return {
      cols,
      rows,
      affected_row_count: changed,
      last_insert_rowid: after.rowid === 0n ? null : after.rowid.toString(),
      rows_read: rows.length,
      rows_written: changed,
    };
  }

  /**
   * Runs the steps in order; a step runs only when its condition holds over the earlier steps'
   * outcomes (and the connection's autocommit state). This is how the client makes a batch
   * atomic: BEGIN, each step on the previous one's success, COMMIT, and ROLLBACK unless COMMIT ran.
   */
  batch(input: unknown): HranaBatchResult {
    const steps = array<HranaBatchStep>(object<{ steps?: unknown }>(input, "batch").steps, "steps");
    const results: (HranaStmtResult | null)[] = [];
    const errors: (HranaError | null)[] = [];
    const holds = (c: unknown): boolean => {
      const cond = object<HranaCond>(c, "condition");
      switch (cond.type) {
        case "ok":
        case "error":
          if (!Number.isInteger(cond.step) || cond.step < 0 || cond.step >= results.length)
            throw new ProtocolError("a condition must refer to an earlier step");
          return cond.type === "ok" ? results[cond.step] !== null : errors[cond.step] !== null;
        case "not":
          return !holds(cond.cond);
        case "and":
          return array<HranaCond>(cond.conds, "conds").every(holds);
        case "or":
          return array<HranaCond>(cond.conds, "conds").some(holds);
        case "is_autocommit":
          return this.autocommit;
        default:
          throw new ProtocolError("unknown batch condition");
      }
    };
    for (const raw of steps) {
      const step = object<HranaBatchStep>(raw, "step");
      let result: HranaStmtResult | null = null;
      let error: HranaError | null = null;
      if (step.condition == null || holds(step.condition)) {
        try {
          result = this.execute(step.stmt);
        } catch (err) {
          if (err instanceof ProtocolError) throw err;
          error = toHranaError(err);
        }
      }
      results.push(result);
      errors.push(error);
    }
    return { step_results: results, step_errors: errors };
  }

  sequence(sql: string): void {
    try {
      this.db.exec(sql);
    } finally {
      this.lastTotalChanges = this.totalChanges();
    }
  }

  describe(sql: string) {
    const { shape, prepared } = this.prepareOne(sql);
    const isExplain = shape.keyword === "EXPLAIN";
    return {
      params: shape.params.map((name) => ({ name })),
      cols: prepared.reader
        ? prepared.columns().map((c) => ({ name: c.name, decltype: c.type ?? null }))
        : [],
      is_explain: isExplain,
      is_readonly: isExplain || this.isReadonly(sql, shape.keyword),
    };
  }

  /**
   * Like sqlite3_stmt_readonly (which the binding doesn't expose): the statement's program opens
   * no write transaction. Transaction control counts as read-only, as it does for SQLite.
   */
  private isReadonly(sql: string, keyword: string): boolean {
    if (["BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"].includes(keyword))
      return true;
    try {
      const program = this.db.prepare(`EXPLAIN ${sql}`).raw(true).all() as unknown as unknown[][];
      return !program.some((op) => op[1] === "Transaction" && op[3] !== 0);
    } catch {
      return false;
    }
  }

  /** Closing rolls back an open transaction, as a dropped sqld stream does. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    try {
      if (this.db.inTransaction) this.db.exec("ROLLBACK");
    } catch {
      // Closing anyway.
    }
    this.db.close();
  }
}

export type CursorEntry =
  | { type: "step_begin"; step: number; cols: HranaCol[] }
  | { type: "row"; row: HranaValue[] }
  | { type: "step_end"; affected_row_count: number; last_insert_rowid: string | null }
  | { type: "step_error"; step: number; error: HranaError }
  | { type: "error"; error: HranaError };

/** A v3 cursor streams a batch's outcome step by step; skipped steps produce no entries. */
export function cursorEntries(result: HranaBatchResult): CursorEntry[] {
  const entries: CursorEntry[] = [];
  result.step_results.forEach((res, step) => {
    const error = result.step_errors[step];
    if (res) {
      entries.push({ type: "step_begin", step, cols: res.cols });
      for (const row of res.rows) entries.push({ type: "row", row });
      entries.push({
        type: "step_end",
        affected_row_count: res.affected_row_count,
        last_insert_rowid: res.last_insert_rowid,
      });
    } else if (error) {
      entries.push({ type: "step_error", step, error });
    }
  });
  return entries;
}
