import type { Client, InStatement, InValue } from "@libsql/client";
import { getTableName, sql } from "drizzle-orm";
import { bumpVersion } from "../edge/versions";
import { engineEventSql } from "../events/outbox";
import { columnName } from "../records/columns";
import { versionScope } from "../records/commit";
import type { CollectionModel, Models } from "../records/model";
import { statement, toDriver } from "../records/sql";
import { auditStatement } from "./audit";
import { erasureOf } from "./declarations";
import { ownedCollections } from "./export";
import { systemTables } from "./system";

/*
 * Erasure (GDPR Art. 17, CCPA deletion): everything of an account goes in ONE libSQL batch (one
 * transaction) — each collection's policy applied to the account's records (delete, anonymise,
 * or keep with a legal basis), outbox events and pending webhook deliveries that carry the
 * account's data removed, its rate-limit rows removed, the account row deleted (sessions, refresh
 * tokens, API keys, one-time tokens, OAuth identities and other credentials go with it: every
 * session and key is revoked by the same commit), the data versions of every touched collection
 * bumped (so no shared-cache entry built before can be served after), `user.erased` and
 * `user.deleted` events (carrying only the id) and an audit entry without personal values.
 * If any statement fails nothing happens; running it again is safe (an erased account is gone:
 * the second run answers "no such account").
 */

/** The value an anonymised record's owner field gets: no account has this id. */
export const erasedOwner = "erased";

export interface ErasureResult {
  userId: string;
  /** Per collection: records deleted, anonymised or kept. */
  collections: Record<string, { policy: string; records: number }>;
  /** Data versions the erasure produced (cache keys move past them). */
  versions: Map<string, number>;
}

/** Who asked, for the audit entry and events (`user:<id>`, or an admin's). */
export interface ErasureCause {
  actor: string;
  reason: "self" | "admin";
}

/** The statements applying one collection's policy to `userId`'s records. */
function collectionStatements(
  model: CollectionModel,
  userId: string,
  nowIso: string,
): { policy: string; statements: InStatement[]; counted: boolean } {
  const policy = erasureOf(model.def.options);
  const owner = model.fields.get(model.owner!)!;
  if (policy === undefined || (typeof policy === "object" && "keep" in policy))
    return { policy: "keep", statements: [], counted: false };
  if (policy === "delete")
    return {
      policy: "delete",
      counted: true,
      statements: [statement(sql`DELETE FROM ${model.table} WHERE ${owner.column} = ${userId}`)],
    };
  const sets = Object.entries(policy.anonymize).map(([key, value]) => {
    const f = model.fields.get(key)!;
    return sql`${sql.identifier(columnName(f.column))} = ${toDriver(f, value)}`;
  });
  sets.push(
    sql`${sql.identifier(columnName(owner.column))} = ${erasedOwner}`,
    sql`"updated" = ${nowIso}`,
    sql`"rev" = "rev" + 1`,
  );
  return {
    policy: "anonymize",
    counted: true,
    statements: [
      statement(
        sql`UPDATE ${model.table} SET ${sql.join(sets, sql`, `)} WHERE ${owner.column} = ${userId}`,
      ),
    ],
  };
}

/**
 * Erases account `userId` under every collection's policy, in one transaction. Returns undefined
 * when there is no such account.
 */
export async function eraseAccount(
  client: Client,
  models: Models,
  userId: string,
  cause: ErasureCause,
  now: Date,
): Promise<ErasureResult | undefined> {
  const found = await client.execute({
    sql: "SELECT email FROM nb_users WHERE id = ?",
    args: [userId],
  });
  const email = found.rows[0]?.email;
  if (email === undefined) return undefined;
  const ms = now.getTime();
  const nowIso = now.toISOString();
  const statements: InStatement[] = [];
  const counts: { collection: string; policy: string; index: number | undefined }[] = [];
  const owned = ownedCollections(models);

  // 1. Outbox rows that carry the account's data — its account events, any event whose payload
  //    or actor names it, and every event of its records (an update's payload need not name the
  //    owner) — with their deliveries of any status: a finished one's attempts keep the first
  //    bytes of the receiver's answer, which may echo the data.
  const conditions = [
    "instr(data, ?) > 0 OR actor = ? OR record_id = ? OR actor IN (SELECT 'apiKey:' || id FROM nb_api_keys WHERE user_id = ?)",
  ];
  const eventArgs: InValue[] = [userId, `user:${userId}`, userId, userId];
  for (const model of owned) {
    const owner = columnName(model.fields.get(model.owner!)!.column);
    conditions.push(
      `(collection = ? AND record_id IN (SELECT id FROM "${getTableName(model.table)}" WHERE "${owner}" = ?))`,
    );
    eventArgs.push(model.name, userId);
  }
  const events = `SELECT id FROM nb_events WHERE ${conditions.join(" OR ")}`;
  statements.push(
    {
      sql: `DELETE FROM nb_webhook_attempts WHERE delivery_id IN (SELECT d.id FROM nb_webhook_deliveries d WHERE d.event_id IN (${events}))`,
      args: eventArgs,
    },
    {
      sql: `DELETE FROM nb_webhook_deliveries WHERE event_id IN (${events})`,
      args: eventArgs,
    },
    { sql: `DELETE FROM nb_events WHERE id IN (${events})`, args: eventArgs },
  );

  // 2. Each collection's policy: deletions first, so what they cascade into (other users'
  //    comments on a deleted post, and the account's own) is gone before anonymisation runs, and
  //    the counts say what each policy did to records that still exist after the commit.
  const planned = owned
    .map((model) => ({ model, ...collectionStatements(model, userId, nowIso) }))
    .sort((a, b) => Number(a.policy !== "delete") - Number(b.policy !== "delete"));
  for (const { model, ...p } of planned) {
    counts.push({
      collection: model.name,
      policy: p.policy,
      index: p.counted ? statements.length : undefined,
    });
    statements.push(...p.statements);
  }

  // 3. Throttle rows keyed by the address or the id; WebAuthn challenges naming the account or
  //    carrying the address (they have no foreign key); every credential table, explicitly, so
  //    erasure does not depend on the connection enforcing ON DELETE CASCADE.
  statements.push(
    {
      sql: "DELETE FROM nb_rate_limits WHERE instr(key, ?) > 0 OR instr(key, ?) > 0",
      args: [String(email), userId],
    },
    {
      sql: "DELETE FROM nb_webauthn_challenges WHERE user_id = ? OR instr(data, ?) > 0",
      args: [userId, String(email)],
    },
    {
      sql: "DELETE FROM nb_refresh_tokens WHERE session_id IN (SELECT id FROM nb_sessions WHERE user_id = ?)",
      args: [userId],
    },
    ...systemTables().map((t) => ({
      sql: `DELETE FROM "${t.table}" WHERE "${t.userColumn}" = ?`,
      args: [userId],
    })),
  );

  // 4. Events about the erasure (the id only), the account row (its credentials cascade), a
  //    guard that rolls everything back if the account vanished meanwhile, and the audit entry.
  const data = { id: userId, reason: cause.reason };
  statements.push(
    statement(engineEventSql("user.erased", userId, cause.actor, data, ms, false)),
    statement(engineEventSql("user.deleted", userId, cause.actor, data, ms, false)),
    { sql: "DELETE FROM nb_users WHERE id = ?", args: [userId] },
    {
      sql: "SELECT CASE WHEN changes() = 0 THEN json_extract('{}', 'nearbase:erase:gone') END",
      args: [],
    },
  );
  statements.push(
    auditStatement(
      {
        action: "privacy.erased",
        actor: cause.actor,
        subject: userId,
        details: { reason: cause.reason, records: await countOwned(client, owned, userId) },
      },
      ms,
    ),
  );

  // 5. Every touched collection's data version (and its dependents', for cascades).
  const scopes = new Set<string>();
  for (const model of owned) {
    scopes.add(versionScope(model));
    for (const d of model.dependents) scopes.add(versionScope(d));
  }
  const bumps: [string, number][] = [];
  for (const scope of scopes) {
    bumps.push([scope, statements.length]);
    statements.push(bumpVersion(scope, ms));
  }

  let results: Awaited<ReturnType<Client["batch"]>>;
  try {
    results = await client.batch(statements, "write");
  } catch (err) {
    if (/nearbase:erase:gone/.test(String((err as Error).message))) return undefined;
    throw err;
  }
  const collections: ErasureResult["collections"] = {};
  for (const c of counts)
    collections[c.collection] = {
      policy: c.policy,
      records: c.index === undefined ? 0 : results[c.index]!.rowsAffected,
    };
  return {
    userId,
    collections,
    versions: new Map(
      bumps.map(([scope, i]) => [scope, Number(results[i]!.rows[0]?.version ?? 0)]),
    ),
  };
}

/** How many records the account owns per collection (for the audit entry: counts only). */
async function countOwned(
  client: Client,
  owned: CollectionModel[],
  userId: string,
): Promise<Record<string, number>> {
  if (owned.length === 0) return {};
  const rs = await client.batch(
    owned.map((m) =>
      statement(
        sql`SELECT count(*) AS n FROM ${m.table} WHERE ${m.fields.get(m.owner!)!.column} = ${userId}`,
      ),
    ),
    "read",
  );
  return Object.fromEntries(owned.map((m, i) => [m.name, Number(rs[i]!.rows[0]?.n ?? 0)]));
}
