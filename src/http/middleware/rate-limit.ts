import type { Context, MiddlewareHandler } from "hono";
import { ApiError } from "../../core/kernel/errors";
import type { Decision, Policy } from "../../core/rate-limit/gcra";
import type { RateLimitStore } from "../../core/rate-limit/stores";
import type { AppEnv, Principal } from "../context";

export type RouteClass = "read" | "write" | "auth";

export interface RateLimitOptions {
  policies: Partial<Record<RouteClass, Policy>>;
  /** Store per class: precise shared state for auth, cheaper local state for the rest. */
  stores: Record<RouteClass, RateLimitStore>;
  clientIp(c: Context<AppEnv>): string;
}

function classify(c: Context<AppEnv>): RouteClass | undefined {
  const path = c.req.path;
  // /graphql spends the same budgets: GET (queries) read, POST (queries and mutations) write.
  if (!path.startsWith("/api/") && path !== "/graphql") return undefined;
  if (path.startsWith("/api/auth/") && c.req.method !== "GET") return "auth";
  return c.req.method === "GET" || c.req.method === "HEAD" ? "read" : "write";
}

/** IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers). */
export function rateLimitFields(policy: Policy, d: Decision): Record<string, string> {
  return {
    "ratelimit-policy": `"${policy.name}";q=${policy.limit};w=${Math.round(policy.periodMs / 1000)}`,
    ratelimit: `"${policy.name}";r=${d.remaining};t=${d.resetSeconds}`,
  };
}

/**
 * Whose budget a request spends: the caller's address for auth routes and anonymous callers,
 * otherwise the account — an API key spends its OWNER's budget, so minting more keys buys no
 * more requests.
 */
export function budgetKey(p: Principal, routeClass: RouteClass, clientIp: string): string {
  if (routeClass === "auth" || p.kind === "anonymous") return `ip:${clientIp}`;
  return `user:${p.kind === "apiKey" ? p.ownerId : p.id}`;
}

/**
 * Limits /api/* by route class — auth (per IP, shared store), write and read (per account when
 * signed in, with a token or any of its API keys, else per IP). Runs after authentication so a
 * signed-in user's quota follows them, not their network.
 */
export function rateLimit(options: RateLimitOptions): MiddlewareHandler<AppEnv> {
  return async function rateLimitMiddleware(c, next) {
    const routeClass = classify(c);
    const policy = routeClass && options.policies[routeClass];
    if (routeClass === undefined || policy === undefined) return next();
    const who = budgetKey(c.get("principal"), routeClass, options.clientIp(c));
    const decision = await options.stores[routeClass].hit(
      who,
      policy,
      c.get("platform").clock.now().getTime(),
    );
    const fields = rateLimitFields(policy, decision);
    if (!decision.allowed) {
      throw new ApiError(
        "RATE_LIMITED",
        `Too many ${routeClass} requests; retry in ${decision.retryAfterSeconds} s.`,
        {
          headers: { ...fields, "retry-after": String(decision.retryAfterSeconds) },
        },
      );
    }
    await next();
    for (const [name, value] of Object.entries(fields)) c.res.headers.set(name, value);
  };
}
