import { and, count, desc, eq, isNull, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import * as z from "zod/mini";
import type { Database } from "../db/client";
import { apiKeys, oauthAccounts, sessions, users } from "../db/schema/auth";
import { passkeys, recoveryCodes, totpCredentials } from "../db/schema/strong-auth";
import { sessionsRevokedSql, userDeletedSql, userUpdatedSql } from "../events/account-events";
import { ApiError } from "../kernel/errors";
import { isAdmin, type Principal } from "../kernel/principal";
import { refusal } from "../kernel/refusals";
import { validate } from "../kernel/validate";
import { auditSql, writeAudit } from "../privacy/audit";
import type { AccountDeps, Defer } from "./deps";
import { recoveryOperations } from "./recovery";
import { revokeAllCredentialsStatements } from "./revoke";
import { revokeSession } from "./sessions";
import type { User } from "./users";

type Statement = BatchItem<"sqlite">;

const role = z.enum(["user", "admin"]);

/** `GET /api/admin/users` query: `email` matches part of the address, `role` exactly. */
export const listUsersQuery = z.strictObject({
  email: z.optional(z.string().check(z.minLength(1), z.maxLength(254))),
  role: z.optional(role),
  cursor: z.optional(z.string().check(z.maxLength(400))),
  limit: z.optional(z.coerce.number().check(z.int(), z.gte(1), z.lte(200))),
});

export const changeRoleInput = z.strictObject({ role });

/** An account as admins see it: the public view plus whether a password is set (never the hash). */
export const adminUserView = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  role,
  emailVerified: z.boolean(),
  hasPassword: z.boolean(),
  created: z.string(),
  updated: z.string(),
});
export type AdminUserView = z.output<typeof adminUserView>;

export const adminUserDetails = z.extend(adminUserView, {
  sessions: z.array(
    z.object({
      id: z.string(),
      created: z.string(),
      lastUsed: z.string(),
      userAgent: z.string(),
      expiresAt: z.string(),
      revokedAt: z.nullable(z.string()),
    }),
  ),
  apiKeys: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      prefix: z.string(),
      scopes: z.array(z.string()),
      created: z.string(),
      expiresAt: z.nullable(z.string()),
      lastUsed: z.nullable(z.string()),
      revokedAt: z.nullable(z.string()),
    }),
  ),
  identities: z.array(
    z.object({ provider: z.string(), providerUserId: z.string(), created: z.string() }),
  ),
  /** How the account can sign in — which methods, never their secrets. */
  methods: z.object({
    password: z.boolean(),
    /** Two-factor sign-in on (a confirmed TOTP key; a pending enrolment does not count). */
    totp: z.boolean(),
    totpEnabledAt: z.nullable(z.string()),
    /** Unused recovery codes (0 without TOTP). */
    recoveryCodesLeft: z.number(),
    passkeys: z.number(),
    /** Providers with a linked identity, each once, sorted. */
    oauthProviders: z.array(z.string()),
  }),
});
export type AdminUserDetails = z.output<typeof adminUserDetails>;

export const userPage = z.object({
  items: z.array(adminUserView),
  nextCursor: z
    .nullable(z.string())
    .check(z.describe("Pass as ?cursor= for the next page; null at the end")),
});

function adminView(u: User): AdminUserView {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    role: u.role,
    emailVerified: u.emailVerifiedAt !== null,
    hasPassword: u.passwordHash !== null,
    created: u.created,
    updated: u.updated,
  };
}

const noSuchUser = () => new ApiError("NOT_FOUND", "There is no such user.");
const lastAdmin = (what: string) =>
  new ApiError("CONFLICT", `${what} would leave no admin; promote another account first.`);

/** A guard statement: fails the batch (rolling everything back) when the previous one changed nothing. */
const guard = (name: string) =>
  sql.raw(`SELECT CASE WHEN changes() = 0 THEN json_extract('{}', 'nearbase:${name}') END`);

/** "Not the last admin" as SQL, for `nb_users` rows: true for users, or while another admin remains. */
const notLastAdmin = (userId: string): SQL =>
  sql`(role <> 'admin' OR (SELECT count(*) FROM nb_users WHERE role = 'admin' AND id <> ${userId}) > 0)`;

/**
 * The statements that delete an account and report it, for one batch: every session and API key
 * revoked with their events (`session.revoked`, `api_key.revoked`), `user.deleted` with the
 * account's public view, the DELETE (its sessions, keys, tokens and identities go by ON DELETE
 * CASCADE) and a guard that fails the batch if the DELETE removed nothing — the account is gone,
 * or it is the last admin — so no event stands without its change. Privacy's erasure calls it
 * too, adding its own statements (`also`, run first).
 */
export function deleteUserStatements(
  db: Database,
  userId: string,
  actor: string,
  now: Date,
  also: Statement[] = [],
): [Statement, ...Statement[]] {
  const statements: Statement[] = [
    ...also,
    ...revokeAllCredentialsStatements(db, userId, now, { reason: "admin", actor }),
    db.run(userDeletedSql(userId, actor, now.getTime())),
    db.run(sql`DELETE FROM nb_users WHERE id = ${userId} AND ${notLastAdmin(userId)}`),
    db.run(guard("user-delete")),
  ];
  return statements as [Statement, ...Statement[]];
}

/**
 * Deletes an account in one batch (see `deleteUserStatements`). Returns why nothing happened
 * (`not_found`, `last_admin`) or `deleted`.
 */
export async function deleteAccount(
  db: Database,
  userId: string,
  options: { actor: string; now: Date; also?: Statement[] },
): Promise<"deleted" | "not_found" | "last_admin"> {
  try {
    await db.batch(deleteUserStatements(db, userId, options.actor, options.now, options.also));
    return "deleted";
  } catch (err) {
    if (!String((err as { message?: unknown }).message ?? "").includes("nearbase:user-delete"))
      throw err;
    const [found] = await db.select({ id: users.id }).from(users).where(eq(users.id, userId));
    return found === undefined ? "not_found" : "last_admin";
  }
}

function encodeCursor(u: Pick<User, "created" | "id">): string {
  return btoa(JSON.stringify([u.created, u.id]))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const value = JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/"))) as unknown;
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      value.every((v) => typeof v === "string" && v.length <= 100)
    )
      return value as [string, string];
  } catch {}
  throw new ApiError("INVALID_QUERY", "The cursor is not one this API gave out.", {
    errors: [{ path: "/cursor", message: "unknown cursor" }],
  });
}

/**
 * User management for admins (`/api/admin/users`): list and search accounts, look at one with its
 * sessions, API key metadata and OAuth identities (never a secret or hash), change a role, revoke
 * sessions, mail a password reset, delete an account. Every change commits with its outbox event
 * (`user.updated`, `session.revoked`, `user.deleted`) in the same batch. Only admins (signed in
 * with an access token; API keys never count) may call them.
 */
export function adminUserOperations(deps: AccountDeps) {
  const { db, clock } = deps;
  const recovery = recoveryOperations(deps);

  function admin(principal: Principal): string {
    if (!isAdmin(principal) || principal.kind !== "user")
      throw refusal(principal, "Only admins manage users.");
    return `user:${principal.id}`;
  }

  async function existing(userId: string): Promise<User> {
    const [user] = await db.select().from(users).where(eq(users.id, userId));
    if (user === undefined) throw noSuchUser();
    return user;
  }

  return {
    /** Accounts, newest first, `limit` (default 50) a page; filter by part of the email or role. */
    async listUsers(principal: Principal, query: unknown) {
      admin(principal);
      let q: z.output<typeof listUsersQuery>;
      try {
        q = validate(listUsersQuery, query);
      } catch (err) {
        if (err instanceof ApiError)
          throw new ApiError("INVALID_QUERY", err.message, { errors: err.errors });
        throw err;
      }
      const limit = q.limit ?? 50;
      const conditions: SQL[] = [];
      if (q.email !== undefined) conditions.push(sql`instr(email, ${q.email.toLowerCase()}) > 0`);
      if (q.role !== undefined) conditions.push(sql`role = ${q.role}`);
      if (q.cursor !== undefined) {
        const [created, id] = decodeCursor(q.cursor);
        conditions.push(sql`(created < ${created} OR (created = ${created} AND id < ${id}))`);
      }
      const rows = await db
        .select()
        .from(users)
        .where(conditions.length === 0 ? undefined : and(...conditions))
        .orderBy(desc(users.created), desc(users.id))
        .limit(limit + 1);
      const page = rows.slice(0, limit);
      return {
        items: page.map(adminView),
        nextCursor: rows.length > limit ? encodeCursor(page.at(-1)!) : null,
      };
    },

    /**
     * One account with its sessions (newest first), API keys, OAuth identities and sign-in
     * methods (password set, TOTP on, recovery codes left, passkey count, linked providers).
     */
    async getUser(principal: Principal, userId: string): Promise<AdminUserDetails> {
      admin(principal);
      const user = await existing(userId);
      const [sessionRows, keyRows, identityRows, totpRows, [codes], [keys]] = await db.batch([
        db
          .select()
          .from(sessions)
          .where(eq(sessions.userId, userId))
          .orderBy(desc(sessions.created))
          .limit(200),
        db.select().from(apiKeys).where(eq(apiKeys.userId, userId)).orderBy(desc(apiKeys.created)),
        db.select().from(oauthAccounts).where(eq(oauthAccounts.userId, userId)),
        db
          .select({ enabledAt: totpCredentials.enabledAt })
          .from(totpCredentials)
          .where(eq(totpCredentials.userId, userId)),
        db
          .select({ n: count() })
          .from(recoveryCodes)
          .where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt))),
        db.select({ n: count() }).from(passkeys).where(eq(passkeys.userId, userId)),
      ]);
      const totpEnabledAt = totpRows[0]?.enabledAt ?? null;
      return {
        ...adminView(user),
        sessions: sessionRows.map((s) => ({
          id: s.id,
          created: s.created,
          lastUsed: s.lastUsed,
          userAgent: s.userAgent,
          expiresAt: new Date(s.expiresAt).toISOString(),
          revokedAt: s.revokedAt,
        })),
        apiKeys: keyRows.map((k) => ({
          id: k.id,
          name: k.name,
          prefix: k.prefix,
          scopes: k.scopes,
          created: k.created,
          expiresAt: k.expiresAt === null ? null : new Date(k.expiresAt).toISOString(),
          lastUsed: k.lastUsed,
          revokedAt: k.revokedAt,
        })),
        identities: identityRows.map((i) => ({
          provider: i.provider,
          providerUserId: i.providerUserId,
          created: i.created,
        })),
        methods: {
          password: user.passwordHash !== null,
          totp: totpEnabledAt !== null,
          totpEnabledAt,
          recoveryCodesLeft: totpEnabledAt === null ? 0 : (codes?.n ?? 0),
          passkeys: keys?.n ?? 0,
          oauthProviders: [...new Set(identityRows.map((i) => i.provider))].sort(),
        },
      };
    },

    /**
     * Sets an account's role, with `user.updated` (changed: role) in the same batch. Refuses
     * (409) to demote the last admin, checked inside the UPDATE so two admins demoting each other
     * at once cannot both succeed. Setting the role it already has changes nothing.
     */
    async setUserRole(principal: Principal, userId: string, input: unknown) {
      const actor = admin(principal);
      const body = validate(changeRoleInput, input);
      const now = clock.now();
      const [updated] = await db.batch([
        db.run(
          sql`UPDATE nb_users SET role = ${body.role}, updated = ${now.toISOString()} WHERE id = ${userId} AND role <> ${body.role} AND ${notLastAdmin(userId)}`,
        ),
        db.run(userUpdatedSql(userId, actor, ["role"], now.getTime())),
        // After the event: exists iff the role changed.
        db.run(
          auditSql(
            { action: "user.role_changed", actor, subject: userId, details: { role: body.role } },
            now.getTime(),
            true,
          ),
        ),
      ]);
      const user = await existing(userId);
      if (updated.rowsAffected === 0 && user.role !== body.role) throw lastAdmin("Demoting them");
      return adminView(user);
    },

    /** Revokes one session of the account, with `session.revoked`; 404 if it is not a live one. */
    async revokeUserSession(principal: Principal, userId: string, sessionId: string) {
      const actor = admin(principal);
      if (!(await revokeSession(db, userId, sessionId, clock.now(), "admin", actor)))
        throw new ApiError("NOT_FOUND", "The user has no such live session.");
      await writeAudit(
        deps.sql,
        {
          action: "admin.action",
          actor,
          subject: userId,
          target: sessionId,
          details: { op: "session_revoked" },
        },
        clock.now().getTime(),
      );
    },

    /** Revokes every session of the account, one `session.revoked` each, in one batch. */
    async revokeUserSessions(principal: Principal, userId: string) {
      const actor = admin(principal);
      await existing(userId);
      const now = clock.now();
      const [, revoked] = await db.batch([
        db.run(sessionsRevokedSql(userId, actor, "admin", now.getTime())),
        db
          .update(sessions)
          .set({ revokedAt: now.toISOString() })
          .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt)))
          .returning({ id: sessions.id }),
        db.run(
          auditSql(
            { action: "admin.action", actor, subject: userId, details: { op: "sessions_revoked" } },
            now.getTime(),
          ),
        ),
      ]);
      return { revoked: revoked.length };
    },

    /** Mails the account a password-reset link (as forgot-password does, same throttle). */
    async sendPasswordReset(principal: Principal, userId: string, defer: Defer) {
      const actor = admin(principal);
      const user = await existing(userId);
      await recovery.forgotPassword({ email: user.email }, defer);
      await writeAudit(
        deps.sql,
        { action: "admin.action", actor, subject: userId, details: { op: "password_reset_sent" } },
        clock.now().getTime(),
      );
    },

    /**
     * Deletes the account (see `deleteUserStatements`): 404 when there is none, 409 for the last
     * admin. The account's records in collections are not touched (privacy erasure does that).
     */
    async deleteUser(principal: Principal, userId: string) {
      const actor = admin(principal);
      const outcome = await deleteAccount(db, userId, { actor, now: clock.now() });
      if (outcome === "not_found") throw noSuchUser();
      if (outcome === "last_admin") throw lastAdmin("Deleting this account");
      await writeAudit(
        deps.sql,
        { action: "user.deleted", actor, subject: userId },
        clock.now().getTime(),
      );
      deps.log.write({
        level: "info",
        msg: "security: account deleted by an admin",
        event: "account_deleted",
        userId,
        by: actor,
      });
    },
  };
}
