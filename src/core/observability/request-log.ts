import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { AppEnv } from "../http/context";

/**
 * Logs one JSON line per request once the response is ready: method, route pattern (not the
 * raw path, which can carry ids or tokens), status, duration and request id. Headers, bodies and
 * query strings are never logged.
 */
export function requestLog(): MiddlewareHandler<AppEnv> {
  return async function requestLog(c, next) {
    const started = performance.now();
    await next();
    const route = routePath(c, -1);
    c.var.platform.log.write({
      level: c.res.status >= 500 ? "error" : "info",
      msg: "request",
      requestId: c.var.requestId,
      method: c.req.method,
      route: route === "*" || route === "/*" ? "(unmatched)" : route,
      status: c.res.status,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
      principal: c.var.principal?.kind === "anonymous" ? undefined : c.var.principal?.id,
    });
  };
}
