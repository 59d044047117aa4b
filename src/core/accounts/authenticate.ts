import { errors as joseErrors } from "jose";
import { anonymous, type Principal } from "../kernel/principal";
import { bearerChallenge, forbidden, unauthenticated } from "../kernel/refusals";
import { apiKeyPrefix, apiKeyPrincipal } from "./api-keys";
import type { AuthConfig } from "./config";
import type { AccountDeps, Defer } from "./deps";
import { credentialFailureBudget, isRejectedCredential, rejectedCredential } from "./failures";

const invalidDetail = "The access token or API key is invalid or expired.";
const invalidToken = { "www-authenticate": `${bearerChallenge}, error="invalid_token"` };

/**
 * 401 with a WWW-Authenticate challenge; never says which check failed. A genuine token that
 * merely expired is not counted as a rejected credential (clients refresh after it).
 */
export const invalidCredentials = (expired = false) =>
  expired
    ? unauthenticated(invalidDetail, { headers: invalidToken })
    : rejectedCredential(invalidDetail, { headers: invalidToken });

/** What a caller presents: the Authorization header and/or an `x-api-key`. */
export interface Presented {
  authorization?: string | undefined;
  apiKey?: string | undefined;
}

/**
 * Identifies callers: an access token (EdDSA JWT, verified locally — no database round trip) or
 * an API key (`Bearer nb_live_…` or `x-api-key`, looked up by hash). No credential means
 * anonymous; a wrong one is a 401, never a silent downgrade.
 *
 * Rejected credentials — here or later in the request (wrong password, spent refresh token) —
 * count against the caller's address (CREDENTIAL_FAILURE_LIMIT) through `countRejected`; over
 * budget, `authenticate` answers 429 before anything is checked.
 */
export function authenticator(deps: AccountDeps) {
  const failures = credentialFailureBudget(deps.sql);
  // Without a usable auth configuration nothing can be verified anyway; the operation says why.
  const policy = () =>
    deps.auth().then(
      (config) => config.credentialFailures,
      () => "off",
    );

  return {
    /** The principal behind what `ip` presents; 429 while `ip` is over its failure budget. */
    async authenticate(
      presented: Presented,
      ip: string,
      options: { defer: Defer },
    ): Promise<Principal> {
      failures.check(ip, await policy(), deps.clock.now().getTime());
      const { authorization } = presented;
      const bearer =
        authorization === undefined ? undefined : /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
      if (authorization !== undefined && bearer === undefined) throw invalidCredentials();
      const credential = bearer ?? presented.apiKey;
      if (credential === undefined) return anonymous;
      if (credential.startsWith(apiKeyPrefix)) {
        const principal = await apiKeyPrincipal(deps, credential, options.defer);
        if (principal === undefined) throw invalidCredentials();
        return principal;
      }
      return tokenPrincipal(await deps.auth(), credential);
    },

    /** Counts `err` against `ip` when it is a rejected credential (wrong password, bad token…). */
    async countRejected(err: unknown, ip: string): Promise<void> {
      if (isRejectedCredential(err))
        await failures.record(ip, await policy(), deps.clock.now().getTime());
    },
  };
}

/** API keys carry scopes: `read`, or `write` (which includes reading). Users pass. */
export function requireScope(principal: Principal, needed: "read" | "write"): void {
  if (principal.kind !== "apiKey") return;
  if (!principal.scopes.includes(needed) && !principal.scopes.includes("write"))
    throw forbidden(`This API key lacks the ${needed} scope.`);
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
      authTime: typeof payload.auth_time === "number" ? payload.auth_time : undefined,
    };
  } catch (err) {
    throw invalidCredentials(err instanceof joseErrors.JWTExpired);
  }
}
