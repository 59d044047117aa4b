import { Hono } from "hono";
import * as z from "zod/mini";
import { sameSecret } from "../../core/kernel/crypto";
import { forbidden, refusal, unauthenticated } from "../../core/kernel/refusals";
import { type AppEnv, isAdmin } from "../context";
import type { Observability } from "../middleware/observe";
import { openApiPaths, type RouteDocs } from "../route-docs";

const tags = ["operations"];
const windowSchema = () =>
  z.looseObject({}).check(z.describe("Request and error counts, latency percentiles"));

const docs = () =>
  ({
    "get /metrics": {
      tags,
      summary: "Prometheus metrics of this process (Node) or isolate (Workers)",
      description: "For admins, or scrapers sending `Authorization: Bearer $METRICS_TOKEN`.",
      auth: "admin",
      responses: {
        "200": {
          description: "Prometheus text exposition format 0.0.4",
          content: { "text/plain": { schema: { type: "string" } } },
        },
      },
    },
    "get /api/admin/stats": {
      tags,
      summary: "Recent request statistics and the slowest routes (admins)",
      auth: "admin",
      responses: {
        "200": {
          description: "Statistics of this process (Node) or isolate (Workers)",
          schema: z.object({
            scope: z.enum(["process", "isolate"]),
            windows: z.object({
              "1m": windowSchema(),
              "5m": windowSchema(),
              "15m": windowSchema(),
            }),
            slowestRoutes: z.array(z.looseObject({})),
            otlpDroppedSpans: z.int(),
          }),
        },
      },
    },
  }) satisfies RouteDocs;

export const observabilityPaths = () => openApiPaths("", docs());

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
      if (!tokenOk && !isAdmin(c.get("principal"))) {
        if (c.get("principal")?.kind === "user")
          throw forbidden("Metrics are for admins and the metrics token.");
        throw unauthenticated("Send an admin token or the metrics token.");
      }
      c.header("cache-control", "no-store");
      return c.body(obs.metrics.render(), 200, {
        "content-type": "text/plain; version=0.0.4; charset=utf-8",
      });
    })
    .get("/api/admin/stats", (c) => {
      if (!isAdmin(c.get("principal")))
        throw refusal(c.get("principal"), "Only admins can read server statistics.");
      c.header("cache-control", "no-store");
      return c.json({
        scope: c.get("platform").name === "workers" ? "isolate" : "process",
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
