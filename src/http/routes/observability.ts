import { Hono } from "hono";
import { sameSecret } from "../../core/kernel/crypto";
import { ApiError } from "../../core/kernel/errors";
import { type AppEnv, isAdmin } from "../context";
import type { Observability } from "../middleware/observe";

/**
 * Operator endpoints. `/metrics` (Prometheus text) takes an admin's token or, for scrapers,
 * `Authorization: Bearer $METRICS_TOKEN`. `/api/admin/stats` is for admins: request counts,
 * error counts, latency percentiles over recent windows and the slowest routes. Both describe
 * this process (Node) or this isolate (Workers; Analytics Engine has the global picture).
 */
export function observabilityRoutes(obs: Observability, metricsToken: string | undefined) {
  return new Hono<AppEnv>()
    .get("/metrics", async (c) => {
      const bearer = /^Bearer (.+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
      const tokenOk =
        metricsToken !== undefined &&
        bearer !== undefined &&
        (await sameSecret(bearer, metricsToken));
      if (!tokenOk && !isAdmin(c.var.principal)) {
        if (c.var.principal?.kind === "user")
          throw new ApiError("FORBIDDEN", "Metrics are for admins and the metrics token.");
        throw new ApiError("UNAUTHENTICATED", "Send an admin token or the metrics token.", {
          headers: { "www-authenticate": 'Bearer realm="nearbase"' },
        });
      }
      c.header("cache-control", "no-store");
      return c.body(obs.metrics.render(), 200, {
        "content-type": "text/plain; version=0.0.4; charset=utf-8",
      });
    })
    .get("/api/admin/stats", (c) => {
      if (!isAdmin(c.var.principal)) {
        if (c.var.principal?.kind === "anonymous") {
          throw new ApiError("UNAUTHENTICATED", undefined, {
            headers: { "www-authenticate": 'Bearer realm="nearbase"' },
          });
        }
        throw new ApiError("FORBIDDEN", "Only admins can read server statistics.");
      }
      c.header("cache-control", "no-store");
      return c.json({
        scope: c.var.platform.name === "workers" ? "isolate" : "process",
        windows: {
          "1m": obs.stats.window(1),
          "5m": obs.stats.window(5),
          "15m": obs.stats.window(15),
        },
        slowestRoutes: obs.stats.slowestRoutes(5),
        otlpDroppedSpans: obs.exporter?.dropped ?? 0,
      });
    });
}
