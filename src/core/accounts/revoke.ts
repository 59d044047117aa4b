import { and, eq, isNull, lt, ne, or } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../db/client";
import { apiKeys, oauthAccounts, oneTimeTokens, sessions, users } from "../db/schema/auth";
import { apiKeysRevokedSql, sessionsRevokedSql, userUpdatedSql } from "../events/account-events";
import type { LogSink } from "../kernel/log";
import { auditSql } from "../privacy/audit";

/** Why every credential of an account was revoked; logged as a security event. */
export type RevokeReason =
  | "logout_all"
  | "password_reset"
  | "mailbox_proven"
  | "identity_dropped"
  | "operator"
  | "admin";

type Statement = BatchItem<"sqlite">;

/**
 * The statements that revoke every credential an account's holder could have made: all sessions
 * (so every refresh-token family dies), all API keys, and unspent OAuth sign-in codes (each could
 * still mint a session for 60 s). Access tokens already issued are stateless and live out their
 * short lifetime (ACCESS_TOKEN_TTL_SECONDS). Mailed reset/verification links are not touched: they
 * belong to the mailbox, not to whoever held the account. Each revoked session and API key gets
 * its `session.revoked` / `api_key.revoked` event in the same batch (written just before the
 * revocation, from the same rows). `actor` defaults to the account itself (`system` for operators).
 */
export function revokeAllCredentialsStatements(
  db: Database,
  userId: string,
  now: Date,
  cause: { reason: RevokeReason; actor?: string } = { reason: "operator" },
): [Statement, ...Statement[]] {
  const at = now.toISOString();
  const ms = now.getTime();
  const actor = cause.actor ?? (cause.reason === "operator" ? "system" : `user:${userId}`);
  return [
    db.run(sessionsRevokedSql(userId, actor, cause.reason, ms)),
    db
      .update(sessions)
      .set({ revokedAt: at })
      .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt))),
    db.run(apiKeysRevokedSql(userId, actor, cause.reason, ms)),
    db
      .update(apiKeys)
      .set({ revokedAt: at })
      .where(and(eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt))),
    db
      .update(oneTimeTokens)
      .set({ usedAt: now.getTime() })
      .where(
        and(
          eq(oneTimeTokens.userId, userId),
          eq(oneTimeTokens.purpose, "oauth_login"),
          isNull(oneTimeTokens.usedAt),
        ),
      ),
  ];
}

/**
 * The one "revoke everything" verb: sign-out everywhere, password reset, the pre-account-hijack
 * clean-up, operators (`npm run user:revoke`) and tests all call it. Runs `also` (e.g. the new
 * password hash) in the same batch, so either all of it happens or none, and logs a security
 * event.
 */
export async function revokeAllCredentials(
  db: Database,
  userId: string,
  reason: RevokeReason,
  options: { now: Date; log?: LogSink; also?: Statement[]; actor?: string },
): Promise<void> {
  await db.batch([
    ...(options.also ?? []),
    ...revokeAllCredentialsStatements(db, userId, options.now, { reason, actor: options.actor }),
    db.run(
      auditSql(
        {
          action: reason === "password_reset" ? "auth.password_reset" : "auth.credentials_revoked",
          actor: options.actor ?? (reason === "operator" ? "system" : `user:${userId}`),
          subject: userId,
          details: { reason },
        },
        options.now.getTime(),
      ),
    ),
  ] as unknown as [Statement, ...Statement[]]);
  options.log?.write({
    level: "info",
    msg: "security: every credential of the account revoked",
    event: "credentials_revoked",
    reason,
    userId,
  });
}

/**
 * What happens when someone proves they control an account's mailbox (a mailed reset or
 * verification link, or a sign-in through a provider that verified the address): the mailbox
 * owner is the account's owner from now on. The address is marked verified (from now, unless it
 * already was), and OAuth identities linked before the mailbox was proven are dropped — on an
 * account that was never verified that is every identity, on a verified one only leftovers linked
 * before its verification; `keep` (the identity doing the proving) stays. Returns the statements
 * and what was found, so the caller can revoke credentials in the same batch: always after a
 * reset or a takeover of an unverified account, and whenever an identity was dropped (its holder
 * could have minted sessions and keys).
 */
export async function mailboxProvenStatements(
  db: Database,
  user: { id: string; emailVerifiedAt: string | null },
  now: Date,
  keep?: { provider: string; providerUserId: string },
): Promise<{ statements: Statement[]; droppedIdentities: number; wasVerified: boolean }> {
  const at = now.toISOString();
  const untrusted = and(
    eq(oauthAccounts.userId, user.id),
    lt(oauthAccounts.created, user.emailVerifiedAt ?? at),
    keep === undefined
      ? undefined
      : or(
          ne(oauthAccounts.provider, keep.provider),
          ne(oauthAccounts.providerUserId, keep.providerUserId),
        ),
  );
  const dropped = await db
    .select({ provider: oauthAccounts.provider })
    .from(oauthAccounts)
    .where(untrusted);
  const statements: Statement[] = [];
  if (dropped.length > 0) statements.push(db.delete(oauthAccounts).where(untrusted));
  if (user.emailVerifiedAt === null) {
    statements.push(
      db.update(users).set({ emailVerifiedAt: at, updated: at }).where(eq(users.id, user.id)),
      db.run(userUpdatedSql(user.id, `user:${user.id}`, ["emailVerified"], now.getTime())),
    );
  }
  return {
    statements,
    droppedIdentities: dropped.length,
    wasVerified: user.emailVerifiedAt !== null,
  };
}
