import type { InStatement, ResultSet } from "@libsql/client";
import type { Context } from "hono";
import { bumpVersion } from "../cache/versions";
import type { AppEnv } from "../http/context";
import type { CollectionModel, Models } from "./model";

export const versionScope = (model: CollectionModel) => `c:${model.name}`;

const guardPattern = /nearbase:guard:(\d+)/;

/**
 * Runs write statements atomically on the primary in one libSQL batch (one transaction, one
 * round trip). After each write a guard raises an error when the write touched no row — the
 * rules refused it or the record is gone — so the whole batch rolls back; each write is also
 * followed by its collection's version bump (cache invalidation), committed with it.
 */
export async function commit(c: Context<AppEnv>, writes: Write[]) {
  const now = c.var.platform.clock.now().getTime();
  const statements: InStatement[] = [];
  const at: number[] = [];
  const bumps = new Map<string, number>();
  writes.forEach((w, i) => {
    at.push(statements.length);
    statements.push(w.statement, {
      sql: `SELECT CASE WHEN changes() = 0 THEN json_extract('{}', 'nearbase:guard:${i}') END`,
      args: [],
    });
    // A delete may cascade into collections that point at this one; their caches go stale too.
    const scopes = [w.model, ...(w.cascades ?? [])].map(versionScope);
    for (const scope of scopes) {
      bumps.set(scope, statements.length);
      statements.push(bumpVersion(scope, now));
    }
  });
  let results: ResultSet[];
  try {
    results = await c.var.platform.sql.batch(statements, "write");
  } catch (err) {
    const guard = guardPattern.exec(String((err as { message?: unknown }).message ?? ""));
    if (guard) return { ok: false as const, failed: Number(guard[1]) };
    throw err;
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
}

export const cascadesOf = (models: Models, model: CollectionModel) =>
  model.dependents.map((name) => models.get(name)!);
