import type { MiddlewareHandler } from "hono";
import { setMetric } from "hono/timing";
import { requireScope } from "../../core/accounts/authenticate";
import { ApiError } from "../../core/kernel/errors";
import type { AppEnv } from "../context";

/**
 * Whether the request presents a credential: a token or key header, or an /api/auth/ POST.
 * Takes `c.req`, or the same three things read off a bare request (the Node cache fast path:
 * a request presenting none is anonymous).
 */
export function presentsCredential(req: {
  method: string;
  path: string;
  header(name: string): string | undefined;
}): boolean {
  return (
    req.header("authorization") !== undefined ||
    req.header("x-api-key") !== undefined ||
    (req.method === "POST" && req.path.startsWith("/api/auth/"))
  );
}

/**
 * Sets `c.get("principal")` from the request's access token or API key (the account service's
 * `authenticate`), and counts every rejected credential — here or later in the request (a wrong
 * password, a spent refresh token) — against the caller's address. API keys need the `read`
 * scope for GET/HEAD and `write` for everything else.
 */
export function authenticate(): MiddlewareHandler<AppEnv> {
  return async function authenticateMiddleware(c, next) {
    if (!presentsCredential(c.req)) return next();
    const { accounts } = c.get("services");
    const ip = c.get("platform").clientIp(c);
    const started = performance.now();
    try {
      const principal = await accounts.authenticate(
        { authorization: c.req.header("authorization"), apiKey: c.req.header("x-api-key") },
        ip,
        { defer: (work) => c.get("platform").defer(c, work) },
      );
      requireScope(principal, c.req.method === "GET" || c.req.method === "HEAD" ? "read" : "write");
      c.set("principal", principal);
      if (principal.kind !== "anonymous")
        setMetric(c, "auth", performance.now() - started, principal.kind);
    } catch (err) {
      // /metrics takes its own scraper token in the same header; it checks that itself.
      if (
        !(c.req.path === "/metrics" && err instanceof ApiError && err.code === "UNAUTHENTICATED")
      ) {
        await accounts.countRejected(err, ip);
        throw err;
      }
    }
    try {
      await next();
    } catch (err) {
      await accounts.countRejected(err, ip);
      throw err;
    }
    await accounts.countRejected(c.error, ip);
  };
}
