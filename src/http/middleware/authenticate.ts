import { and, eq, gt, isNull, or } from "drizzle-orm";
import type { Context, MiddlewareHandler } from "hono";
import { setMetric } from "hono/timing";
import { errors as joseErrors } from "jose";
import type { AuthConfig } from "../../core/accounts/config";
import {
  credentialFailureBudget,
  isRejectedCredential,
  rejectedCredential,
} from "../../core/accounts/failures";
import { apiKeys, users } from "../../core/db/schema/auth";
import { sha256 } from "../../core/kernel/crypto";
import { ApiError } from "../../core/kernel/errors";
import type { AppEnv, Principal } from "../context";

export const apiKeyPrefix = "nb_live_";

const challenge = (error?: string) => ({
  "www-authenticate": error
    ? `Bearer realm="nearbase", error="${error}"`
    : 'Bearer realm="nearbase"',
});

const invalidDetail = "The access token or API key is invalid or expired.";

/**
 * 401 with a WWW-Authenticate challenge; never says which check failed. A genuine token that
 * merely expired is not counted as a rejected credential (clients refresh after it).
 */
export const invalidCredentials = (expired = false) =>
  expired
    ? new ApiError("UNAUTHENTICATED", invalidDetail, { headers: challenge("invalid_token") })
    : rejectedCredential(invalidDetail, { headers: challenge("invalid_token") });

/** Whether the request presents a credential: a token or key header, or an /api/auth/ POST. */
function presentsCredential(c: Context<AppEnv>): boolean {
  return (
    c.req.header("authorization") !== undefined ||
    c.req.header("x-api-key") !== undefined ||
    (c.req.method === "POST" && c.req.path.startsWith("/api/auth/"))
  );
}

/**
 * Identifies the caller: an access token (EdDSA JWT, verified locally — no database round trip)
 * or an API key (`Authorization: Bearer nb_live_…` or `x-api-key`, looked up by hash). No
 * credentials means anonymous; wrong credentials are a 401, never a silent downgrade. API keys
 * carry scopes: `read` for GET, `write` for everything else.
 *
 * Rejected credentials — here or downstream (wrong password, spent refresh token) — count
 * against the caller's address (CREDENTIAL_FAILURE_LIMIT); over budget, credentialed requests
 * get 429 before anything is checked.
 */
export function authenticate(auth: () => Promise<AuthConfig>): MiddlewareHandler<AppEnv> {
  const failures = credentialFailureBudget();
  return async function authenticateMiddleware(c, next) {
    if (!presentsCredential(c)) return next();
    // Without a usable auth configuration nothing can be verified anyway; the route says why.
    const policy = await auth().then(
      (config) => config.credentialFailures,
      () => "off",
    );
    failures.check(c, policy);
    try {
      await identify(c, auth, next);
    } catch (err) {
      if (isRejectedCredential(err)) await failures.record(c, policy);
      throw err;
    }
    if (isRejectedCredential(c.error)) await failures.record(c, policy);
  };
}

/** Sets the principal from the presented token or key, then runs the rest of the request. */
async function identify(
  c: Context<AppEnv>,
  auth: () => Promise<AuthConfig>,
  next: () => Promise<void>,
) {
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
  } catch (err) {
    throw invalidCredentials(err instanceof joseErrors.JWTExpired);
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
