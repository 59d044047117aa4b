import type { Client, InStatement, ResultSet } from "@libsql/client";
import type { SQL } from "drizzle-orm";
import { bumpVersion } from "../edge/versions";
import { cascadeEventStatements } from "../events/cascade";
import { type ChangeEvent, emitsEvents, outboxStatement } from "../events/outbox";
import { eventMetrics } from "../observability/metrics";
import type { CollectionModel } from "./model";
import { statement } from "./sql";

export const versionScope = (model: CollectionModel) => `c:${model.name}`;

const guardPattern = /nearbase:guard:(\d+)/;
const relationPattern = /nearbase:relation:(\d+):(\w+)/;

/** A relation the write sets: `exists` returns a row only for a target the caller may view. */
export interface RelationCheck {
  field: string;
  exists: SQL;
}

/**
 * Runs write statements atomically on the primary in one libSQL batch (one transaction, one
 * round trip). After each write a guard raises an error when the write touched no row — the
 * rules refused it or the record is gone — so the whole batch rolls back; each write is also
 * followed by its collection's version bump (cache invalidation), committed with it.
 */
export async function commit(primary: Client, now: number, writes: Write[]) {
  const statements: InStatement[] = [];
  const at: number[] = [];
  const bumps = new Map<string, number>();
  const cascaded: { collection: string; index: number }[] = [];
  writes.forEach((w, i) => {
    // Relations are checked first, after the batch's earlier writes (so a batch may create a
    // record and point at it), in the same transaction as the write.
    for (const check of w.relations ?? []) {
      const probe = statement(check.exists);
      statements.push({
        sql: `SELECT CASE WHEN EXISTS (${probe.sql}) THEN 1 ELSE json_extract('{}', 'nearbase:relation:${i}:${check.field}') END`,
        args: probe.args,
      });
    }
    // The event reads the record from the table: before a delete, after a create or update (and
    // after the guard, which reads changes() of the write itself). Same batch: an event exists
    // iff its write committed.
    const event =
      w.event !== undefined && emitsEvents(w.model)
        ? outboxStatement(w.model, w.event, now)
        : undefined;
    if (w.event?.kind === "deleted") {
      // Rows ON DELETE CASCADE will remove get their own events, read before the delete.
      for (const c of cascadeEventStatements(w.model, w.event.recordId, w.event.actor, now)) {
        cascaded.push({ collection: c.collection, index: statements.length });
        statements.push(c.statement);
      }
    }
    if (event !== undefined && w.event?.kind === "deleted") statements.push(event);
    at.push(statements.length);
    statements.push(w.statement, {
      sql: `SELECT CASE WHEN changes() = 0 THEN json_extract('{}', 'nearbase:guard:${i}') END`,
      args: [],
    });
    if (event !== undefined && w.event?.kind !== "deleted") statements.push(event);
    // A delete may cascade into collections that point at this one; their caches go stale too.
    const scopes = [w.model, ...(w.cascades ?? [])].map(versionScope);
    for (const scope of scopes) {
      bumps.set(scope, statements.length);
      statements.push(bumpVersion(scope, now));
    }
  });
  let results: ResultSet[];
  try {
    results = await primary.batch(statements, "write");
  } catch (err) {
    const message = String((err as { message?: unknown }).message ?? "");
    const relation = relationPattern.exec(message);
    if (relation) return { ok: false as const, failed: Number(relation[1]), relation: relation[2] };
    const guard = guardPattern.exec(message);
    if (guard) return { ok: false as const, failed: Number(guard[1]), relation: undefined };
    throw err;
  }
  for (const w of writes) {
    if (w.event !== undefined && emitsEvents(w.model))
      eventMetrics.eventsWritten.inc({ collection: w.model.name });
  }
  for (const c of cascaded) {
    const n = results[c.index]!.rowsAffected;
    if (n > 0) eventMetrics.eventsWritten.inc({ collection: c.collection }, n);
  }
  const versions = new Map<string, number>();
  for (const [scope, index] of bumps) {
    versions.set(scope, Number(results[index]!.rows[0]?.version ?? 0));
  }
  return { ok: true as const, results: at.map((i) => results[i]!), versions };
}

export interface Write {
  statement: InStatement;
  model: CollectionModel;
  /** Collections whose rows the database may change along with this write (ON DELETE). */
  cascades?: CollectionModel[];
  /** Relations the write sets, checked before it. */
  relations?: RelationCheck[];
  /** The change, for the outbox (skipped when the collection has `events: false`). */
  event?: ChangeEvent;
}

export const cascadesOf = (model: CollectionModel) => model.dependents;
