import { and, eq, isNull } from "drizzle-orm";
import type { Database } from "../db/client";
import { refreshTokens, sessions, users } from "../db/schema/auth";
import { engineEventSql } from "../events/outbox";
import { randomId, randomToken, sha256 } from "../kernel/crypto";
import type { LogSink } from "../kernel/log";
import { auditSql } from "../privacy/audit";
import type { AuthConfig } from "./config";
import type { SessionView, TokenPair } from "./schemas";
import type { User } from "./users";

export type { TokenPair } from "./schemas";

export async function accessTokenFor(
  config: AuthConfig,
  user: Pick<User, "id" | "role">,
  sessionId: string,
  /** When the person last proved who they are (epoch s): a sign-in or a step-up, never a refresh. */
  authTime?: number,
) {
  return config.keys.sign(
    { role: user.role, sid: sessionId, ...(authTime === undefined ? {} : { auth_time: authTime }) },
    {
      issuer: config.issuer,
      audience: config.audience,
      subject: user.id,
      ttlSeconds: config.accessTokenTtlSeconds,
    },
  );
}

/** Starts a session (a refresh-token family) and returns its first token pair. */
export async function startSession(
  db: Database,
  config: AuthConfig,
  user: User,
  userAgent: string,
  now: Date,
): Promise<TokenPair> {
  const sessionId = randomId("ses");
  const refreshToken = randomToken(32);
  const expiresAt = now.getTime() + config.refreshTokenTtlSeconds * 1000;
  await db.batch([
    db.insert(sessions).values({
      id: sessionId,
      userId: user.id,
      created: now.toISOString(),
      lastUsed: now.toISOString(),
      expiresAt,
      userAgent: userAgent.slice(0, 200),
    }),
    db.insert(refreshTokens).values({ hash: await sha256(refreshToken), sessionId, expiresAt }),
    db.run(
      auditSql(
        { action: "auth.sign_in", actor: `user:${user.id}`, subject: user.id, target: sessionId },
        now.getTime(),
      ),
    ),
  ]);
  return {
    accessToken: await accessTokenFor(config, user, sessionId, Math.floor(now.getTime() / 1000)),
    tokenType: "Bearer",
    expiresIn: config.accessTokenTtlSeconds,
    refreshToken,
    sessionId,
  };
}

export type RefreshOutcome =
  | { ok: true; pair: TokenPair }
  | { ok: false; reason: "unknown" | "expired" | "revoked" | "reused" };

/**
 * Rotates a refresh token: the presented one is spent (atomically, so two concurrent uses cannot
 * both succeed) and a new one of the same family is issued. Presenting a spent token means it
 * leaked: the whole family (session) is revoked and a security event is logged.
 */
export async function rotate(
  db: Database,
  config: AuthConfig,
  token: string,
  now: Date,
  log: LogSink,
): Promise<RefreshOutcome> {
  const hash = await sha256(token);
  const [found] = await db
    .select({ token: refreshTokens, session: sessions, user: users })
    .from(refreshTokens)
    .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(eq(refreshTokens.hash, hash));
  if (found === undefined) return { ok: false, reason: "unknown" };
  const { session, user } = found;
  if (session.revokedAt !== null) return { ok: false, reason: "revoked" };
  if (found.token.expiresAt <= now.getTime() || session.expiresAt <= now.getTime())
    return { ok: false, reason: "expired" };

  const spent = await db
    .update(refreshTokens)
    .set({ usedAt: now.getTime() })
    .where(and(eq(refreshTokens.hash, hash), isNull(refreshTokens.usedAt)))
    .returning({ hash: refreshTokens.hash });
  if (spent.length === 0) {
    await revokeSession(db, user.id, session.id, now, "refresh_token_reuse");
    log.write({
      level: "warn",
      msg: "security: refresh token reuse; session revoked",
      event: "refresh_token_reuse",
      userId: user.id,
      sessionId: session.id,
    });
    return { ok: false, reason: "reused" };
  }
  const next = randomToken(32);
  await db.batch([
    db
      .insert(refreshTokens)
      .values({ hash: await sha256(next), sessionId: session.id, expiresAt: session.expiresAt }),
    db.update(sessions).set({ lastUsed: now.toISOString() }).where(eq(sessions.id, session.id)),
  ]);
  return {
    ok: true,
    pair: {
      accessToken: await accessTokenFor(config, user, session.id),
      tokenType: "Bearer",
      expiresIn: config.accessTokenTtlSeconds,
      refreshToken: next,
      sessionId: session.id,
    },
  };
}

/**
 * Revokes one session (its refresh-token family) of `userId`; false when there is no such
 * unrevoked session of that user. Its access tokens live out their short lifetime.
 */
export async function revokeSession(
  db: Database,
  userId: string,
  sessionId: string,
  now: Date,
  reason: "user" | "refresh_token_reuse" | "admin" = "user",
  actor = `user:${userId}`,
): Promise<boolean> {
  // session.revoked commits with the revocation, only if it revoked something; a replayed
  // refresh token is an event (refresh_token.reused) whether or not the session was still live.
  const data = { id: sessionId, userId, reason };
  const ms = now.getTime();
  const [revoked] = await db.batch([
    db
      .update(sessions)
      .set({ revokedAt: now.toISOString() })
      .where(
        and(eq(sessions.id, sessionId), eq(sessions.userId, userId), isNull(sessions.revokedAt)),
      )
      .returning({ id: sessions.id }),
    db.run(engineEventSql("session.revoked", sessionId, actor, data, ms)),
    ...(reason === "refresh_token_reuse"
      ? [
          db.run(engineEventSql("refresh_token.reused", sessionId, "system", data, ms, false)),
          db.run(
            auditSql(
              {
                action: "auth.refresh_reused",
                actor: "system",
                subject: userId,
                target: sessionId,
                outcome: "failed",
              },
              ms,
            ),
          ),
        ]
      : []),
  ]);
  return revoked.length > 0;
}

/** A user's unrevoked, unexpired sessions; `current` marks the one asking. */
export async function activeSessions(
  db: Database,
  userId: string,
  currentSessionId: string | undefined,
  now: Date,
): Promise<SessionView[]> {
  const rows = await db
    .select({
      id: sessions.id,
      created: sessions.created,
      lastUsed: sessions.lastUsed,
      userAgent: sessions.userAgent,
      expiresAt: sessions.expiresAt,
    })
    .from(sessions)
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt)));
  return rows
    .filter((s) => s.expiresAt > now.getTime())
    .map((s) => ({
      ...s,
      expiresAt: new Date(s.expiresAt).toISOString(),
      current: s.id === currentSessionId,
    }));
}
