import { and, eq, isNull } from "drizzle-orm";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { z } from "zod";
import type { AuthConfig } from "../../core/accounts/config";
import { rejectedCredential } from "../../core/accounts/failures";
import { emailSchema, plainTextSchema } from "../../core/accounts/identifiers";
import {
  hashPassword,
  passwordLimits,
  passwordProblem,
  verifyPassword,
} from "../../core/accounts/passwords";
import { revokeAllCredentials } from "../../core/accounts/revoke";
import { rotate, startSession } from "../../core/accounts/sessions";
import { sessions, users } from "../../core/db/schema/auth";
import { randomId } from "../../core/kernel/crypto";
import { ApiError } from "../../core/kernel/errors";
import { parsePolicy } from "../../core/rate-limit/gcra";
import { libsqlStore } from "../../core/rate-limit/stores";
import { readJsonObject, validate } from "../body";
import type { AppEnv } from "../context";

const email = emailSchema;
const password = z.string().min(1).max(1024);
const signupBody = z.object({ email, password, name: plainTextSchema(100).optional() }).strict();
const loginBody = z.object({ email, password }).strict();
const refreshBody = z.object({ refreshToken: z.string().min(20).max(200) }).strict();

export type User = typeof users.$inferSelect;

export function publicUser(u: User) {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    role: u.role,
    emailVerified: u.emailVerifiedAt !== null,
    created: u.created,
  };
}

export function requireUser(c: Context<AppEnv>) {
  const p = c.var.principal;
  if (p.kind !== "user") {
    throw new ApiError("UNAUTHENTICATED", "Sign in with an access token.", {
      headers: { "www-authenticate": 'Bearer realm="nearbase"' },
    });
  }
  return p;
}

function weakPassword(message: string): ApiError {
  return new ApiError("VALIDATION_FAILED", `Password ${message}.`, {
    errors: [{ path: "/password", message }],
  });
}

/**
 * Every response under /api/auth and /api/keys may carry tokens, keys or account data: never
 * stored by a browser or proxy (RFC 6749 §5.1; `Pragma` for HTTP/1.0 caches).
 */
export const noStore: MiddlewareHandler<AppEnv> = async function noStore(c, next) {
  await next();
  c.res.headers.set("cache-control", "no-store");
  c.res.headers.set("pragma", "no-cache");
};

/** Throttles by account (email), in libSQL so every instance and location shares the count. */
export async function throttleAccount(
  c: Context<AppEnv>,
  policyText: string,
  name: string,
  account: string,
) {
  const policy = parsePolicy(name, policyText);
  const decision = await libsqlStore(c.var.platform.sql).hit(
    account,
    policy,
    c.var.platform.clock.now().getTime(),
  );
  if (!decision.allowed) {
    throw new ApiError(
      "RATE_LIMITED",
      `Too many attempts for this account; retry in ${decision.retryAfterSeconds} s.`,
      {
        headers: { "retry-after": String(decision.retryAfterSeconds) },
      },
    );
  }
}

/**
 * /api/auth: sign-up, log-in, refresh rotation, log-out, sessions and the current user.
 * Duplicate sign-up answers 409: sign-up returns tokens, so it cannot hide that an account
 * exists; per-IP limits slow enumeration, and the recovery flows reveal nothing.
 */
export function authRoutes(auth: () => Promise<AuthConfig>) {
  const app = new Hono<AppEnv>();
  app.use(noStore);

  app.post("/signup", async (c) => {
    const body = validate(signupBody, await readJsonObject(c)) as z.infer<typeof signupBody>;
    const problem = passwordProblem(body.password, body.email);
    if (problem) throw weakPassword(problem);
    const config = await auth();
    const { db, clock } = c.var.platform;
    const now = clock.now();
    const user: User = {
      id: randomId("usr"),
      email: body.email,
      emailVerifiedAt: null,
      passwordHash: await hashPassword(body.password, config.passwordIterations),
      name: body.name ?? "",
      role: "user",
      created: now.toISOString(),
      updated: now.toISOString(),
    };
    const inserted = await db
      .insert(users)
      .values(user)
      .onConflictDoNothing()
      .returning({ id: users.id });
    if (inserted.length === 0) {
      throw new ApiError(
        "CONFLICT",
        "An account with this email already exists; sign in or reset the password.",
        {
          errors: [{ path: "/email", message: "already registered" }],
        },
      );
    }
    const pair = await startSession(db, config, user, c.req.header("user-agent") ?? "", now);
    return c.json({ user: publicUser(user), ...pair }, 201);
  });

  app.post("/login", async (c) => {
    const body = validate(loginBody, await readJsonObject(c)) as z.infer<typeof loginBody>;
    const config = await auth();
    // Per account AND address first, so one attacker cannot lock the owner out; the looser
    // per-account ceiling bounds a distributed guess (and can be exhausted by one: see README).
    const ip = c.var.platform.clientIp(c);
    await throttleAccount(c, config.loginPerAccount, "login-account-ip", `${body.email}|${ip}`);
    await throttleAccount(c, config.loginPerAccountTotal, "login-account", body.email);
    const { db, clock } = c.var.platform;
    const [user] = await db.select().from(users).where(eq(users.email, body.email));
    // The same work whether or not the account exists (a dummy hash is verified).
    const check = await verifyPassword(
      body.password.slice(0, passwordLimits.max * 4),
      user?.passwordHash,
      config.passwordIterations,
    );
    if (user === undefined || !check.ok) {
      throw rejectedCredential("Wrong email or password.");
    }
    const now = clock.now();
    if (check.rehash) {
      await db
        .update(users)
        .set({
          passwordHash: await hashPassword(body.password, config.passwordIterations),
          updated: now.toISOString(),
        })
        .where(eq(users.id, user.id));
    }
    const pair = await startSession(db, config, user, c.req.header("user-agent") ?? "", now);
    return c.json({ user: publicUser(user), ...pair });
  });

  app.post("/refresh", async (c) => {
    const body = validate(refreshBody, await readJsonObject(c)) as z.infer<typeof refreshBody>;
    const { db, clock, log } = c.var.platform;
    const outcome = await rotate(db, await auth(), body.refreshToken, clock.now(), log);
    if (!outcome.ok)
      throw rejectedCredential("The refresh token is invalid, expired or revoked; sign in again.");
    return c.json(outcome.pair);
  });

  app.post("/logout", async (c) => {
    const me = requireUser(c);
    if (me.sessionId !== undefined) {
      await c.var.platform.db
        .update(sessions)
        .set({ revokedAt: c.var.platform.clock.now().toISOString() })
        .where(and(eq(sessions.id, me.sessionId), eq(sessions.userId, me.id)));
    }
    return c.body(null, 204);
  });

  // Sign out everywhere: every session (refresh family), API key and pending sign-in code.
  app.post("/logout-all", async (c) => {
    const me = requireUser(c);
    const { db, clock, log } = c.var.platform;
    await revokeAllCredentials(db, me.id, "logout_all", { now: clock.now(), log });
    return c.body(null, 204);
  });

  app.get("/me", async (c) => {
    const me = requireUser(c);
    const [user] = await c.var.platform.db.select().from(users).where(eq(users.id, me.id));
    if (user === undefined) throw new ApiError("UNAUTHENTICATED", "This account no longer exists.");
    c.header("cache-control", "private, no-store");
    return c.json(publicUser(user));
  });

  app.get("/sessions", async (c) => {
    const me = requireUser(c);
    const now = c.var.platform.clock.now().getTime();
    const rows = await c.var.platform.db
      .select({
        id: sessions.id,
        created: sessions.created,
        lastUsed: sessions.lastUsed,
        userAgent: sessions.userAgent,
        expiresAt: sessions.expiresAt,
      })
      .from(sessions)
      .where(and(eq(sessions.userId, me.id), isNull(sessions.revokedAt)));
    c.header("cache-control", "private, no-store");
    return c.json({
      items: rows
        .filter((s) => s.expiresAt > now)
        .map((s) => ({
          ...s,
          expiresAt: new Date(s.expiresAt).toISOString(),
          current: s.id === me.sessionId,
        })),
    });
  });

  app.delete("/sessions/:id", async (c) => {
    const me = requireUser(c);
    const revoked = await c.var.platform.db
      .update(sessions)
      .set({ revokedAt: c.var.platform.clock.now().toISOString() })
      .where(
        and(
          eq(sessions.id, c.req.param("id")),
          eq(sessions.userId, me.id),
          isNull(sessions.revokedAt),
        ),
      )
      .returning({ id: sessions.id });
    if (revoked.length === 0) throw new ApiError("NOT_FOUND", "No such session.");
    return c.body(null, 204);
  });

  return app;
}
