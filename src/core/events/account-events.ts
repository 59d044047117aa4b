import { type SQL, sql } from "drizzle-orm";
import { eventId } from "./ids";

/*
 * Outbox statements for changes to accounts and their credentials. Each is an INSERT … SELECT
 * placed in the SAME batch as the change it reports, reading the rows from the tables (so an
 * event exists iff its change committed, and carries what the row holds). Account events carry
 * the account's public view only: never the password hash, tokens, key hashes or secrets.
 */

/**
 * The id expression for events written many at once by one INSERT … SELECT: one `eventId`
 * prefix (time + this process's sequence) for the statement, then the row's number within it
 * and random hex, so the rows are unique, sort after earlier events and in row order.
 */
function manyIds(nowMs: number): SQL {
  const prefix = eventId(nowMs).slice(0, 17);
  return sql`${prefix} || printf('%04x', row_number() OVER ()) || lower(hex(randomblob(4)))`;
}

/** An account's public view as JSON, from `nb_users` (aliased `u`). Never the hash. */
const userJson = sql.raw(
  `json_object('id', u.id, 'email', u.email, 'name', u.name, 'role', u.role, 'emailVerified', json(CASE WHEN u.email_verified_at IS NULL THEN 'false' ELSE 'true' END), 'created', u.created, 'updated', u.updated)`,
);

/**
 * Names `changed` may list for an account: its public fields, and `password` for a new password
 * (never the hash). A rehash at sign-in (same password, stronger parameters) changes none.
 */
export type UserField = "email" | "name" | "role" | "emailVerified" | "password";

/**
 * `user.updated`, placed right after the statement that updates the `nb_users` row: it reads
 * the row as it now is, and inserts only if that statement changed a row (`changes()`).
 */
export function userUpdatedSql(
  userId: string,
  actor: string,
  changed: readonly UserField[],
  nowMs: number,
): SQL {
  return sql`INSERT INTO nb_events (id, type, collection, record_id, actor, occurred_at, changed, data)
    SELECT ${eventId(nowMs)}, 'user.updated', 'user', u.id, ${actor}, ${nowMs}, ${JSON.stringify(changed)}, ${userJson}
    FROM nb_users u WHERE u.id = ${userId} AND changes() > 0`;
}

/**
 * `user.deleted`, placed BEFORE the DELETE of the account (it reads the row as it was). The
 * batch must fail when the DELETE then removes nothing (a guard), or the event would stand alone.
 */
export function userDeletedSql(userId: string, actor: string, nowMs: number): SQL {
  return sql`INSERT INTO nb_events (id, type, collection, record_id, actor, occurred_at, data)
    SELECT ${eventId(nowMs)}, 'user.deleted', 'user', u.id, ${actor}, ${nowMs}, ${userJson}
    FROM nb_users u WHERE u.id = ${userId}`;
}

/**
 * One `session.revoked` per session of `userId` still unrevoked (optionally only `sessionId`),
 * placed BEFORE the UPDATE that revokes them, which must use the same condition.
 */
export function sessionsRevokedSql(
  userId: string,
  actor: string,
  reason: string,
  nowMs: number,
  sessionId?: string,
): SQL {
  return sql`INSERT INTO nb_events (id, type, collection, record_id, actor, occurred_at, data)
    SELECT ${manyIds(nowMs)}, 'session.revoked', 'session', s.id, ${actor}, ${nowMs},
      json_object('id', s.id, 'userId', s.user_id, 'reason', ${reason})
    FROM nb_sessions s WHERE s.user_id = ${userId} AND s.revoked_at IS NULL${
      sessionId === undefined ? sql`` : sql` AND s.id = ${sessionId}`
    }`;
}

/**
 * One `api_key.revoked` per unrevoked API key of `userId` (never the key or its hash), placed
 * BEFORE the UPDATE that revokes them, which must use the same condition.
 */
export function apiKeysRevokedSql(
  userId: string,
  actor: string,
  reason: string,
  nowMs: number,
): SQL {
  return sql`INSERT INTO nb_events (id, type, collection, record_id, actor, occurred_at, data)
    SELECT ${manyIds(nowMs)}, 'api_key.revoked', 'api_key', k.id, ${actor}, ${nowMs},
      json_object('id', k.id, 'userId', k.user_id, 'reason', ${reason})
    FROM nb_api_keys k WHERE k.user_id = ${userId} AND k.revoked_at IS NULL`;
}
