import type { Client, InValue } from "@libsql/client";
import { sql } from "drizzle-orm";
import { columnName } from "../records/columns";
import type { CollectionModel, Models } from "../records/model";
import { fieldsOf, fromRow, selectList, statement } from "../records/sql";
import { toAuditRow } from "./audit";
import { describeErasure, erasureOf } from "./declarations";
import { openFields, type SealerSource } from "./fields";
import {
  accountDeclaration,
  auditDeclaration,
  challengeDeclaration,
  refreshTokenDeclaration,
  systemTables,
} from "./system";

/*
 * The data export (GDPR Art. 15/20, CCPA right to know): one JSON document with everything held
 * about an account — the account, its sessions, API keys (metadata, never secrets), OAuth
 * identities and other credential metadata, every record it owns in every collection (encrypted
 * fields decrypted, personal fields included even when hidden from the API), the audit entries
 * about it, and each part's purpose, legal basis, erasure policy and retention.
 *
 * The document is produced as a stream of text chunks: rows are read in pages of `pageSize` by
 * keyset, so memory stays flat however many records the account has.
 */

export const exportFormat = "nearbase.export/v1";
const pageSize = 500;

export interface ExportDeps {
  /** The database to read (the primary: an export must see the account's latest writes). */
  sql: Client;
  models: Models;
  sealer: SealerSource;
  now(): Date;
}

/** Fields of a collection the export shows: the readable ones plus personal (even hidden) ones. */
export function exportedFields(model: CollectionModel): string[] {
  const personal = new Set(model.def.options.personal ?? []);
  return [...model.fields.keys()].filter(
    (k) => k !== "rev" && (!model.hidden.has(k) || personal.has(k)),
  );
}

/** Collections whose records can belong to an account (they have an owner field). */
export function ownedCollections(models: Models): CollectionModel[] {
  return [...models.values()].filter((m) => m.owner !== undefined);
}

const json = (value: unknown) => JSON.stringify(value);

/**
 * The export of account `userId` as a stream of JSON text. Returns undefined when the account
 * does not exist (checked before the first byte, so the caller can answer 404).
 */
export async function exportAccount(
  deps: ExportDeps,
  userId: string,
): Promise<AsyncGenerator<string> | undefined> {
  const account = await deps.sql.execute({
    sql: "SELECT id, email, email_verified_at, name, role, created, updated, password_hash IS NOT NULL AS has_password FROM nb_users WHERE id = ?",
    args: [userId],
  });
  const row = account.rows[0];
  if (row === undefined) return undefined;
  return documentOf(deps, userId, {
    id: row.id,
    email: row.email,
    emailVerifiedAt: row.email_verified_at,
    name: row.name,
    role: row.role,
    hasPassword: Number(row.has_password) === 1,
    created: row.created,
    updated: row.updated,
  });
}

async function* documentOf(
  deps: ExportDeps,
  userId: string,
  account: Record<string, unknown>,
): AsyncGenerator<string> {
  yield `{"format":${json(exportFormat)},"generatedAt":${json(deps.now().toISOString())},"subject":${json(userId)}`;
  yield `,"account":${json({ ...account, purpose: accountDeclaration.purpose, legalBasis: accountDeclaration.legalBasis })}`;

  yield `,"credentials":{`;
  let first = true;
  for (const t of systemTables()) {
    yield `${first ? "" : ","}${json(t.table)}:{"purpose":${json(t.purpose)},"legalBasis":${json(t.legalBasis)},"retention":${json(t.retention)},"withheld":${json(t.withheld)},"rows":[`;
    first = false;
    const select = t.exported.map(([c, k]) => `"${c}" AS "${k}"`).join(", ");
    yield* pagedRows(deps.sql, (after) => ({
      sql: `SELECT rowid AS nb_rowid, ${select} FROM "${t.table}" WHERE "${t.userColumn}" = ? AND rowid > ? ORDER BY rowid LIMIT ${pageSize}`,
      args: [userId, after ?? -1],
    }));
    yield "]}";
  }
  // Refresh tokens hang off sessions: metadata only (never the hash).
  yield `${first ? "" : ","}${json(refreshTokenDeclaration.table)}:{"purpose":${json(refreshTokenDeclaration.purpose)},"legalBasis":${json(refreshTokenDeclaration.legalBasis)},"retention":${json(refreshTokenDeclaration.retention)},"withheld":["hash"],"rows":[`;
  yield* pagedRows(deps.sql, (after) => ({
    sql: `SELECT r.rowid AS nb_rowid, r.session_id AS "sessionId", r.expires_at AS "expiresAt", r.used_at AS "usedAt" FROM nb_refresh_tokens r JOIN nb_sessions s ON s.id = r.session_id WHERE s.user_id = ? AND r.rowid > ? ORDER BY r.rowid LIMIT ${pageSize}`,
    args: [userId, after ?? -1],
  }));
  yield "]}";
  // Passkey ceremonies in progress (minutes long): what they are for, never the challenge.
  yield `,${json(challengeDeclaration.table)}:{"purpose":${json(challengeDeclaration.purpose)},"legalBasis":${json(challengeDeclaration.legalBasis)},"retention":${json(challengeDeclaration.retention)},"withheld":["hash","data"],"rows":[`;
  yield* pagedRows(deps.sql, (after) => ({
    sql: `SELECT rowid AS nb_rowid, purpose, session_id AS "sessionId", expires_at AS "expiresAt" FROM nb_webauthn_challenges WHERE user_id = ? AND rowid > ? ORDER BY rowid LIMIT ${pageSize}`,
    args: [userId, after ?? -1],
  }));
  yield "]}}";

  yield `,"collections":{`;
  first = true;
  for (const model of ownedCollections(deps.models)) {
    const o = model.def.options;
    const meta = {
      purpose: o.legalBasis === undefined ? undefined : undefined,
      legalBasis: o.legalBasis ?? "not declared",
      erasure: describeErasure(erasureOf(o)),
      retention: o.retention === undefined ? "not limited" : `${o.retention.days} days`,
      personalFields: o.personal ?? [],
      encryptedFields: o.encrypted ?? [],
    };
    const metaText = json(meta);
    yield `${first ? "" : ","}${json(model.name)}:${metaText.slice(0, -1)},"records":[`;
    first = false;
    yield* collectionRecords(deps, model, userId);
    yield "]}";
  }
  yield "}";

  yield `,"audit":{"purpose":${json(auditDeclaration.purpose)},"legalBasis":${json(auditDeclaration.legalBasis)},"entries":[`;
  let after: string | undefined;
  let sep = "";
  for (;;) {
    const rs = await deps.sql.execute({
      sql: `SELECT id, at, action, outcome, actor, subject, target, details FROM nb_audit_log WHERE (subject = ? OR actor = ?) AND id > ? ORDER BY id LIMIT ${pageSize}`,
      args: [userId, `user:${userId}`, after ?? ""],
    });
    const chunk = rs.rows.map((r) => json(toAuditRow(r as unknown as Record<string, unknown>)));
    if (chunk.length > 0) {
      yield sep + chunk.join(",");
      sep = ",";
    }
    if (rs.rows.length < pageSize) break;
    after = String(rs.rows.at(-1)!.id);
  }
  yield "]}}";
}

/** Rows of a system table, page by page, as JSON objects separated by commas. */
async function* pagedRows(
  client: Client,
  page: (after: number | undefined) => { sql: string; args: InValue[] },
): AsyncGenerator<string> {
  let after: number | undefined;
  let sep = "";
  for (;;) {
    const rs = await client.execute(page(after));
    const out: string[] = [];
    for (const r of rs.rows) {
      const { nb_rowid: _r, ...rest } = r as unknown as Record<string, unknown>;
      out.push(json(rest));
    }
    if (out.length > 0) {
      yield sep + out.join(",");
      sep = ",";
    }
    if (rs.rows.length < pageSize) return;
    after = Number(rs.rows.at(-1)!.nb_rowid);
  }
}

async function* collectionRecords(
  deps: ExportDeps,
  model: CollectionModel,
  userId: string,
): AsyncGenerator<string> {
  const fields = fieldsOf(model, exportedFields(model));
  const owner = model.fields.get(model.owner!)!.column;
  const id = model.fields.get("id")!.column;
  let after = "";
  let sep = "";
  for (;;) {
    const rs = await deps.sql.execute(
      statement(
        sql`SELECT ${selectList(fields)} FROM ${model.table} WHERE ${owner} = ${userId} AND ${id} > ${after} ORDER BY ${id} LIMIT ${pageSize}`,
      ),
    );
    const out: string[] = [];
    for (const r of rs.rows) {
      const record = fromRow(fields, r);
      if (model.encrypted.size > 0) await openFields(deps.sealer, deps.models, model, record);
      out.push(json(record));
    }
    if (out.length > 0) {
      yield sep + out.join(",");
      sep = ",";
    }
    if (rs.rows.length < pageSize) return;
    after = String(rs.rows.at(-1)!.id);
  }
}

/** Column names of a collection's exported fields (tests compare them with a raw scan). */
export function exportedColumns(model: CollectionModel): string[] {
  return exportedFields(model).map((k) => columnName(model.fields.get(k)!.column));
}
