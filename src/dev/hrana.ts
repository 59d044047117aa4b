import Database from "libsql";

/**
 * Hrana (the libSQL remote protocol) over HTTP, version 2 with JSON encoding: the values,
 * statements, batches and results a `@libsql/client` sends and expects, executed on one
 * embedded libSQL connection. See libsql's docs/HRANA_2_SPEC.md.
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

export interface HranaError {
  message: string;
  code?: string;
}

/** A protocol violation by the client: answered 400, never a crash. */
export class ProtocolError extends Error {}

type SqlValue = null | bigint | number | string | Buffer;

export function decodeValue(v: HranaValue | undefined): SqlValue {
  if (v === undefined || typeof v !== "object" || v === null)
    throw new ProtocolError("value must be an object");
  switch (v.type) {
    case "null":
      return null;
    case "integer":
      if (typeof v.value !== "string" || !/^-?\d{1,19}$/.test(v.value))
        throw new ProtocolError("bad integer value");
      return BigInt(v.value);
    case "float":
      if (typeof v.value !== "number") throw new ProtocolError("bad float value");
      return v.value;
    case "text":
      if (typeof v.value !== "string") throw new ProtocolError("bad text value");
      return v.value;
    case "blob":
      if (typeof v.base64 !== "string") throw new ProtocolError("bad blob value");
      return Buffer.from(v.base64, "base64");
    default:
      throw new ProtocolError(
        `unknown value type ${JSON.stringify((v as { type: unknown }).type)}`,
      );
  }
}

export function encodeValue(v: unknown): HranaValue {
  if (v === null || v === undefined) return { type: "null" };
  if (typeof v === "bigint") return { type: "integer", value: v.toString() };
  if (typeof v === "number") return { type: "float", value: v };
  if (typeof v === "string") return { type: "text", value: v };
  if (v instanceof Uint8Array) return { type: "blob", base64: Buffer.from(v).toString("base64") };
  if (v instanceof ArrayBuffer) return { type: "blob", base64: Buffer.from(v).toString("base64") };
  return { type: "text", value: String(v) };
}

/** SQLite errors keep their code (e.g. SQLITE_CONSTRAINT_UNIQUE), as sqld reports them. */
export function toHranaError(err: unknown): HranaError {
  if (err instanceof ProtocolError) return { message: err.message, code: "PROTOCOL_ERROR" };
  const e = err as { message?: unknown; code?: unknown };
  const raw = typeof e?.message === "string" ? e.message : String(err);
  // The native binding prefixes its message with the code; the client adds the code again.
  const message = raw.replace(/^(SQLITE_[A-Z_]+: )+/, "");
  return typeof e?.code === "string"
    ? { message, code: e.code }
    : { message, code: "SQLITE_ERROR" };
}

/** One client stream's connection plus the SQL texts it stored with `store_sql`. */
export class Connection {
  readonly db: Database.Database;
  readonly sqls = new Map<number, string>();
  private totalChanges: bigint;

  /** `readOnly` connections (a replica's) refuse writes, as a Turso replica would. */
  constructor(path: string, readOnly = false) {
    this.db = new Database(path);
    this.db.exec(
      readOnly ? "PRAGMA query_only = ON;" : "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;",
    );
    this.totalChanges = this.counters().total;
  }

  private counters() {
    const row = this.db
      .prepare("SELECT total_changes(), changes(), last_insert_rowid()")
      .safeIntegers(true)
      .raw(true)
      .get() as unknown as [bigint, bigint, bigint];
    return { total: row[0], changes: row[1], rowid: row[2] };
  }

  get autocommit(): boolean {
    return !this.db.inTransaction;
  }

  sqlOf(stmt: { sql?: string; sql_id?: number }): string {
    if (typeof stmt.sql === "string") return stmt.sql;
    if (typeof stmt.sql_id === "number") {
      const sql = this.sqls.get(stmt.sql_id);
      if (sql === undefined) throw new ProtocolError(`sql_id ${stmt.sql_id} was not stored`);
      return sql;
    }
    throw new ProtocolError("statement needs sql or sql_id");
  }

  execute(stmt: HranaStmt) {
    if (typeof stmt !== "object" || stmt === null)
      throw new ProtocolError("stmt must be an object");
    const sql = this.sqlOf(stmt);
    let args: SqlValue[] | Record<string, SqlValue> = (stmt.args ?? []).map(decodeValue);
    if (stmt.named_args !== undefined && stmt.named_args.length > 0) {
      if (args.length > 0) throw new ProtocolError("use either args or named_args");
      const named: Record<string, SqlValue> = {};
      for (const { name, value } of stmt.named_args)
        named[String(name).replace(/^[:@$]/, "")] = decodeValue(value);
      args = named;
    }
    const prepared = this.db.prepare(sql).safeIntegers(true);
    let cols: { name: string; decltype: string | null }[] = [];
    let rows: HranaValue[][] = [];
    let returnsRows = true;
    try {
      prepared.raw(true);
    } catch {
      returnsRows = false;
    }
    if (returnsRows) {
      cols = prepared.columns().map((c) => ({ name: c.name, decltype: c.type ?? null }));
      const all = prepared.all(args) as unknown as unknown[][];
      rows = stmt.want_rows === false ? [] : all.map((row) => row.map(encodeValue));
    } else {
      prepared.run(args);
    }
    const after = this.counters();
    const changed = after.total !== this.totalChanges;
    this.totalChanges = after.total;
    return {
      cols,
      rows,
      affected_row_count: changed ? Number(after.changes) : 0,
      last_insert_rowid: after.rowid === 0n ? null : after.rowid.toString(),
      rows_read: rows.length,
      rows_written: changed ? Number(after.changes) : 0,
    };
  }

  batch(steps: { condition?: HranaCond; stmt: HranaStmt }[]) {
    if (!Array.isArray(steps)) throw new ProtocolError("batch.steps must be an array");
    const stepResults: (ReturnType<Connection["execute"]> | null)[] = [];
    const stepErrors: (HranaError | null)[] = [];
    const holds = (cond: HranaCond): boolean => {
      switch (cond.type) {
        case "ok":
          return stepResults[cond.step] != null;
        case "error":
          return stepErrors[cond.step] != null;
        case "not":
          return !holds(cond.cond);
        case "and":
          return cond.conds.every(holds);
        case "or":
          return cond.conds.some(holds);
        case "is_autocommit":
          return this.autocommit;
        default:
          throw new ProtocolError("unknown batch condition");
      }
    };
    for (const step of steps) {
      if (step.condition !== undefined && !holds(step.condition)) {
        stepResults.push(null);
        stepErrors.push(null);
        continue;
      }
      try {
        stepResults.push(this.execute(step.stmt));
        stepErrors.push(null);
      } catch (err) {
        if (err instanceof ProtocolError) throw err;
        stepResults.push(null);
        stepErrors.push(toHranaError(err));
      }
    }
    return { step_results: stepResults, step_errors: stepErrors };
  }

  describe(stmt: { sql?: string; sql_id?: number }) {
    const prepared = this.db.prepare(this.sqlOf(stmt));
    let cols: { name: string; decltype: string | null }[] = [];
    try {
      prepared.raw(true);
      cols = prepared.columns().map((c) => ({ name: c.name, decltype: c.type ?? null }));
    } catch {
      cols = [];
    }
    return {
      params: [],
      cols,
      is_explain: /^\s*explain\b/i.test(this.sqlOf(stmt)),
      is_readonly: !prepared.reader
        ? false
        : /^\s*(select|with|explain|pragma)\b/i.test(this.sqlOf(stmt)),
    };
  }

  close(): void {
    try {
      if (this.db.inTransaction) this.db.exec("ROLLBACK");
    } catch {
      // Closing anyway.
    }
    this.db.close();
  }
}
