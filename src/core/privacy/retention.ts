import type { Client, InStatement } from "@libsql/client";
import { type SQL, sql } from "drizzle-orm";
import { bumpVersion } from "../edge/versions";
import type { Job } from "../events/jobs";
import { columnName } from "../records/columns";
import { versionScope } from "../records/commit";
import type { CollectionModel, Models } from "../records/model";
import { statement, toDriver } from "../records/sql";
import { erasedOwner } from "./erase";

/*
 * Retention: records older than their collection's window (`retention: { days, field?, action? }`)
 * are deleted or anonymised by a scheduled job (src/core/events/jobs.ts: lease row, so one runner
 * at a time), in bounded batches so no statement holds the write lock for long; the audit log
 * keeps AUDIT_RETENTION_DAYS, and expired sign-in codes, MFA tickets and WebAuthn challenges go a
 * day after they expire. `retentionReport` is the same selection counted, changing nothing
 * (the admin API's dry run).
 */

const batchSize = 500;
/** Batches per collection per run: the rest waits for the next run. */
const maxRounds = 20;
const day = 86_400_000;

export interface RetentionSettings {
  /** How long audit entries are kept (ms). */
  auditRetentionMs: number;
}

export interface RetentionLine {
  collection: string;
  action: "delete" | "anonymize";
  days: number;
  field: string;
  /** Records past the window: removed by a run (or that would be, in a dry run). */
  expired: number;
  cutoff: string;
}

function expiredCondition(model: CollectionModel, cutoffIso: string): SQL {
  const r = model.def.options.retention!;
  const field = model.fields.get(r.field ?? "created")!;
  const parts = [sql`${field.column} < ${cutoffIso}`];
  if (r.action === "anonymize" && model.owner !== undefined)
    parts.push(sql`${model.fields.get(model.owner)!.column} != ${erasedOwner}`);
  return sql.join(parts, sql` AND `);
}

function retained(models: Models): CollectionModel[] {
  return [...models.values()].filter((m) => m.def.options.retention !== undefined);
}

function cutoffOf(model: CollectionModel, now: number): string {
  return new Date(now - model.def.options.retention!.days * day).toISOString();
}

/** What a retention run would remove now, changing nothing. */
export async function retentionReport(
  client: Client,
  models: Models,
  settings: RetentionSettings,
  now: number,
): Promise<{ collections: RetentionLine[]; audit: { expired: number; cutoff: string } }> {
  const lines: RetentionLine[] = [];
  for (const model of retained(models)) {
    const r = model.def.options.retention!;
    const cutoff = cutoffOf(model, now);
    const rs = await client.execute(
      statement(
        sql`SELECT count(*) AS n FROM ${model.table} WHERE ${expiredCondition(model, cutoff)}`,
      ),
    );
    lines.push({
      collection: model.name,
      action: r.action ?? "delete",
      days: r.days,
      field: r.field ?? "created",
      expired: Number(rs.rows[0]?.n ?? 0),
      cutoff,
    });
  }
  const auditCutoff = now - settings.auditRetentionMs;
  const audit = await client.execute({
    sql: "SELECT count(*) AS n FROM nb_audit_log WHERE at < ?",
    args: [auditCutoff],
  });
  return {
    collections: lines,
    audit: { expired: Number(audit.rows[0]?.n ?? 0), cutoff: new Date(auditCutoff).toISOString() },
  };
}

/** One batch for one collection: the statement and the version bump, in one transaction. */
function batchStatements(model: CollectionModel, cutoff: string, now: number): InStatement[] {
  const r = model.def.options.retention!;
  const id = model.fields.get("id")!.column;
  const pick = sql`SELECT ${id} FROM ${model.table} WHERE ${expiredCondition(model, cutoff)} LIMIT ${batchSize}`;
  let change: SQL;
  if (r.action === "anonymize") {
    const replace = (model.def.options.erasure as { anonymize: Record<string, unknown> }).anonymize;
    const sets = Object.entries(replace).map(([key, value]) => {
      const f = model.fields.get(key)!;
      return sql`${sql.identifier(columnName(f.column))} = ${toDriver(f, value)}`;
    });
    if (model.owner !== undefined)
      sets.push(
        sql`${sql.identifier(columnName(model.fields.get(model.owner)!.column))} = ${erasedOwner}`,
      );
    sets.push(sql`"updated" = ${new Date(now).toISOString()}`, sql`"rev" = "rev" + 1`);
    change = sql`UPDATE ${model.table} SET ${sql.join(sets, sql`, `)} WHERE ${id} IN (${pick})`;
  } else {
    change = sql`DELETE FROM ${model.table} WHERE ${id} IN (${pick})`;
  }
  return [
    statement(change),
    ...[model, ...(r.action === "anonymize" ? [] : model.dependents)].map((m) =>
      bumpVersion(versionScope(m), now),
    ),
  ];
}

/** Applies retention now: every collection's expired records, then old audit entries. */
export async function applyRetention(
  client: Client,
  models: Models,
  settings: RetentionSettings,
  now: number,
): Promise<Record<string, number>> {
  const done: Record<string, number> = {};
  for (const model of retained(models)) {
    const cutoff = cutoffOf(model, now);
    let total = 0;
    for (let round = 0; round < maxRounds; round++) {
      const [rs] = await client.batch(batchStatements(model, cutoff, now), "write");
      total += rs!.rowsAffected;
      if (rs!.rowsAffected < batchSize) break;
    }
    done[model.name] = total;
  }
  let audit = 0;
  for (let round = 0; round < maxRounds; round++) {
    const rs = await client.execute({
      sql: "DELETE FROM nb_audit_log WHERE id IN (SELECT id FROM nb_audit_log WHERE at < ? LIMIT ?)",
      args: [now - settings.auditRetentionMs, batchSize],
    });
    audit += rs.rowsAffected;
    if (rs.rowsAffected < batchSize) break;
  }
  done.audit = audit;
  // Short-lived sign-in material the expired-credentials job does not cover (mailed codes, MFA
  // tickets, WebAuthn challenges — the last may hold a sign-up's address): a day after expiry.
  for (const [table, key] of expiringTables) {
    let removed = 0;
    for (let round = 0; round < maxRounds; round++) {
      const rs = await client.execute({
        sql: `DELETE FROM ${table} WHERE ${key} IN (SELECT ${key} FROM ${table} WHERE expires_at <= ? LIMIT ?)`,
        args: [now - day, batchSize],
      });
      removed += rs.rowsAffected;
      if (rs.rowsAffected < batchSize) break;
    }
    done[table] = removed;
  }
  return done;
}

const expiringTables = [
  ["nb_email_otps", "id"],
  ["nb_auth_tickets", "hash"],
  ["nb_webauthn_challenges", "hash"],
] as const;

/** The retention job for the scheduler (src/core/events/jobs.ts runs it under its lease row). */
export function retentionJob(client: Client, models: Models, settings: RetentionSettings): Job {
  return {
    name: "privacy-retention",
    leaseMs: 10 * 60_000,
    everyMs: 60 * 60_000,
    run: (now) => applyRetention(client, models, settings, now),
  };
}
