import type { Client, InStatement } from "@libsql/client";
import { type SQL, sql } from "drizzle-orm";
import { randomId } from "../kernel/crypto";
import { ApiError } from "../kernel/errors";
import { FilterError } from "../query/ast";
import { type CompileContext, clientFilterLimits, compileFilter } from "../query/compile";
import { parseFilter } from "../query/parser";
import { statement } from "../records/sql";

/*
 * The audit log: append-only entries (src/core/db/schema/privacy.ts) written in the SAME batch as
 * the action they record wherever the action is a database write (one `auditSql(...)` statement
 * added to the batch), so an entry exists iff the action committed. Entries never carry personal
 * values — accounts are named by id; details hold reasons, counts and field names only.
 */

/** The actions the log records (a closed list, so queries can rely on the names). */
export const auditActions = [
  "auth.sign_in",
  "auth.sign_in_failed",
  "auth.refresh_reused",
  "auth.password_changed",
  "auth.password_reset",
  "auth.credentials_revoked",
  "auth.totp_enabled",
  "auth.totp_disabled",
  "auth.recovery_codes_regenerated",
  "auth.passkey_added",
  "auth.passkey_removed",
  "auth.step_up",
  "api_key.created",
  "api_key.revoked",
  "user.role_changed",
  "user.deleted",
  "admin.action",
  "privacy.exported",
  "privacy.erased",
  "webhook.created",
  "webhook.updated",
  "webhook.deleted",
  "webhook.secret_rotated",
] as const;

export type AuditAction = (typeof auditActions)[number];

export interface AuditEntry {
  action: AuditAction;
  /** `user:<id>`, `apiKey:<id>`, `system` or `anonymous` (see events' actorOf). */
  actor: string;
  /** The account the entry is about. */
  subject?: string | null | undefined;
  /** What was acted on besides the account (key, session, webhook id). */
  target?: string | null | undefined;
  outcome?: "ok" | "failed";
  /** Non-personal detail only (reasons, counts, field names): never emails, names or secrets. */
  details?: Record<string, unknown>;
}

/** A time-sortable audit id: `aud_` + 11 base-36 digits of epoch ms + random. */
export function auditId(nowMs: number): string {
  return `aud_${nowMs.toString(36).padStart(11, "0")}${randomId("x").slice(2, 12)}`;
}

/**
 * The INSERT for one entry, as drizzle SQL (for `db.batch([...])`). With `onlyIfChanged` it
 * inserts only when the statement right before it changed a row (`changes() > 0`), so the entry
 * exists iff that change did.
 */
export function auditSql(entry: AuditEntry, nowMs: number, onlyIfChanged = false): SQL {
  return sql`INSERT INTO nb_audit_log (id, at, action, outcome, actor, subject, target, details) SELECT ${auditId(nowMs)}, ${nowMs}, ${entry.action}, ${entry.outcome ?? "ok"}, ${entry.actor}, ${entry.subject ?? null}, ${entry.target ?? null}, ${JSON.stringify(entry.details ?? {})} WHERE ${onlyIfChanged ? sql`changes() > 0` : sql`1`}`;
}

/** The same, as a libSQL statement (for `client.batch([...])`). */
export function auditStatement(
  entry: AuditEntry,
  nowMs: number,
  onlyIfChanged = false,
): InStatement {
  return statement(auditSql(entry, nowMs, onlyIfChanged));
}

/** Writes one entry on its own (for actions that are not a database write, e.g. a failed sign-in). */
export async function writeAudit(client: Client, entry: AuditEntry, nowMs: number): Promise<void> {
  await client.execute(auditStatement(entry, nowMs));
}

// ── reading: the admin query API ──

/** Fields a query may filter on; each maps to its column. */
const columns: Record<string, string> = {
  id: "id",
  at: "at",
  action: "action",
  outcome: "outcome",
  actor: "actor",
  subject: "subject",
  target: "target",
};

export interface AuditRow {
  id: string;
  at: string;
  action: string;
  outcome: string;
  actor: string;
  subject: string | null;
  target: string | null;
  details: Record<string, unknown>;
}

function filterContext(now: Date): CompileContext {
  return {
    auth: { id: "", role: "", kind: "anonymous" },
    now,
    limits: clientFilterLimits,
    field(path, pos) {
      const column = path.length === 1 ? columns[path[0]!] : undefined;
      if (column === undefined)
        throw new FilterError(
          `unknown field ${JSON.stringify(path.join("."))}; the audit log has ${Object.keys(columns).join(", ")}`,
          pos,
        );
      return { sql: sql`${sql.identifier(column)}`, multi: false };
    },
  };
}

export interface AuditQuery {
  /** The filter language over id, at (epoch ms), action, outcome, actor, subject, target. */
  filter?: string | undefined;
  limit?: number | undefined;
  /** The last id of the previous page (entries come newest first). */
  before?: string | undefined;
}

/** A page of entries, newest first, matching the filter. */
export async function queryAudit(
  client: Client,
  query: AuditQuery,
  now: Date,
): Promise<{ items: AuditRow[]; nextCursor: string | null }> {
  const limit = query.limit ?? 50;
  let filter: SQL | undefined;
  if (query.filter !== undefined && query.filter.trim() !== "") {
    try {
      filter = compileFilter(parseFilter(query.filter), filterContext(now));
    } catch (err) {
      if (!(err instanceof FilterError)) throw err;
      throw new ApiError("INVALID_FILTER", `filter: ${err.message}`, {
        errors: [{ path: "/filter", message: err.message }],
      });
    }
  }
  const parts = [filter, query.before === undefined ? undefined : sql`id < ${query.before}`].filter(
    (p): p is SQL => p !== undefined,
  );
  const where =
    parts.length === 0
      ? sql`1`
      : sql.join(
          parts.map((p) => sql`(${p})`),
          sql` AND `,
        );
  const rs = await client.execute(
    statement(
      sql`SELECT id, at, action, outcome, actor, subject, target, details FROM nb_audit_log WHERE ${where} ORDER BY id DESC LIMIT ${limit + 1}`,
    ),
  );
  const rows = rs.rows.slice(0, limit).map(toAuditRow);
  return {
    items: rows,
    nextCursor: rs.rows.length > limit ? (rows.at(-1)?.id ?? null) : null,
  };
}

export function toAuditRow(r: Record<string, unknown>): AuditRow {
  let details: Record<string, unknown> = {};
  try {
    details = JSON.parse(String(r.details ?? "{}"));
  } catch {}
  return {
    id: String(r.id),
    at: new Date(Number(r.at)).toISOString(),
    action: String(r.action),
    outcome: String(r.outcome),
    actor: String(r.actor),
    subject: r.subject === null ? null : String(r.subject),
    target: r.target === null ? null : String(r.target),
    details,
  };
}
