import { and, eq, gt, isNull, or } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import { setMetric } from "hono/timing";
import { sha256 } from "../crypto";
import { apiKeys, users } from "../db/schema/auth";
import type { AppEnv, Principal } from "../http/context";
import { ApiError } from "../http/errors";
import type { AuthConfig } from "./config";

export const apiKeyPrefix = "nb_live_";

const challenge = (error?: string) => ({
  "www-authenticate": error
    ? `Bearer realm="nearbase", error="${error}"`
    : 'Bearer realm="nearbase"',
});

/** 401 with a WWW-Authenticate challenge; never says which check failed. */
export const invalidCredentials = () =>
  new ApiError("UNAUTHENTICATED", "The access token or API key is invalid or expired.", {
    headers: challenge("invalid_token"),
  });

/**
 * Identifies the caller: an access token (EdDSA JWT, verified locally — no database round trip)
 * or an API key (`Authorization: Bearer nb_live_…` or `x-api-key`, looked up by hash). No
 * credentials means anonymous; wrong credentials are a 401, never a silent downgrade. API keys
 * carry scopes: `read` for GET, `write` for everything else.
 */
export function authenticate(auth: () => Promise<AuthConfig>): MiddlewareHandler<AppEnv> {
  return async function authenticateMiddleware(c, next) {
    const header = c.req.header("authorization");
    const bearer = header === undefined ? undefined : /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    if (header !== undefined && bearer === undefined) throw invalidCredentials();
    const credential = bearer ?? c.req.header("x-api-key");
    if (credential !== undefined) {
      const started = performance.now();
      let principal: Principal;
      try {
        principal = credential.startsWith(apiKeyPrefix)
          ? await apiKeyPrincipal(c, credential)
          : await tokenPrincipal(await auth(), credential);
      } catch (err) {
        // /metrics takes its own scraper token in the same header; it checks that itself.
        if (c.req.path === "/metrics" && err instanceof ApiError && err.code === "UNAUTHENTICATED")
          return next();
        throw err;
      }
      if (principal.kind === "apiKey") {
        const needed = c.req.method === "GET" || c.req.method === "HEAD" ? "read" : "write";
        if (!principal.scopes.includes(needed) && !principal.scopes.includes("write")) {
          throw new ApiError("FORBIDDEN", `This API key lacks the ${needed} scope.`);
        }
      }
      c.set("principal", principal);
      setMetric(c, "auth", performance.now() - started, principal.kind);
    }
    await next();
  };
}

async function tokenPrincipal(config: AuthConfig, token: string): Promise<Principal> {
  try {
    const payload = await config.keys.verify(token, {
      issuer: config.issuer,
      audience: config.audience,
    });
    const role = payload.role === "admin" ? "admin" : "user";
    if (typeof payload.sub !== "string") throw new Error("no subject");
    return {
      kind: "user",
      id: payload.sub,
      role,
      sessionId: typeof payload.sid === "string" ? payload.sid : undefined,
    };
  } catch {
    throw invalidCredentials();
  }
}

async function apiKeyPrincipal(
  c: Parameters<MiddlewareHandler<AppEnv>>[0],
  key: string,
): Promise<Principal> {
  const { platform } = c.var;
  const now = platform.clock.now();
  const [row] = await platform.db
    .select({
      id: apiKeys.id,
      userId: apiKeys.userId,
      scopes: apiKeys.scopes,
      lastUsed: apiKeys.lastUsed,
    })
    .from(apiKeys)
    .innerJoin(users, eq(users.id, apiKeys.userId))
    .where(
      and(
        eq(apiKeys.hash, await sha256(key)),
        isNull(apiKeys.revokedAt),
        or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now.getTime())),
      ),
    );
  if (row === undefined) throw invalidCredentials();
  if (row.lastUsed === null || now.getTime() - Date.parse(row.lastUsed) > 60_000) {
    platform.defer(
      c,
      platform.db
        .update(apiKeys)
        .set({ lastUsed: now.toISOString() })
        .where(eq(apiKeys.id, row.id))
        .then(() => {}),
    );
  }
  return { kind: "apiKey", id: row.id, ownerId: row.userId, scopes: row.scopes };
}
