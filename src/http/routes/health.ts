import { type Context, Hono } from "hono";
import { endTime, startTime } from "hono/timing";
import * as z from "zod/mini";
import { checkReadiness } from "../../core/db/readiness";
import { ApiError } from "../../core/kernel/errors";
import type { AppEnv } from "../context";
import { openApiPaths, type RouteDocs } from "../route-docs";

const tags = ["operations"];

const docs = () =>
  ({
    "get /health": {
      tags,
      auth: "none",
      summary: "Liveness: the process can serve (no I/O)",
      responses: {
        "200": {
          description: "Serving",
          schema: z.object({ status: z.literal("ok"), home: z.enum(["node", "workers"]) }),
          example: { status: "ok", home: "workers" },
        },
      },
    },
    "get /ready": {
      tags,
      auth: "none",
      summary: "Readiness: the database is reachable and migrated, and the signing keys load",
      responses: {
        "200": {
          description: "Ready",
          schema: z.object({
            status: z.literal("ready"),
            home: z.enum(["node", "workers"]),
            migration: z
              .optional(z.string())
              .check(z.describe("The newest migration this build expects (applied)")),
          }),
          example: { status: "ready", home: "node", migration: "0007_webhook_claims" },
        },
      },
      raises: ["UNAVAILABLE"],
    },
  }) satisfies RouteDocs;

export const healthPaths = () => openApiPaths("", docs());

/**
 * `/health` answers while the process can serve at all (liveness: no I/O). `/ready` answers 200
 * only when the database is reachable and migrated and the signing keys load, so a load balancer
 * (or a deploy check) can hold traffic back.
 */
export const healthRoutes = new Hono<AppEnv>()
  .get("/health", (c) => {
    c.header("cache-control", "no-store");
    return c.json({ status: "ok", home: c.get("platform").name });
  })
  .get("/ready", async (c) => {
    c.header("cache-control", "no-store");
    startTime(c, "db");
    const readiness = await checkReadiness(c.get("platform").sql);
    endTime(c, "db");
    if (!readiness.ready) {
      throw new ApiError("UNAVAILABLE", readiness.detail, { headers: { "retry-after": "5" } });
    }
    // Signing keys that do not load (a missing secret, npm's banner piped into it) fail every
    // sign-in and token check; the loader logs the reason, readiness only says which part.
    if (!(await signingKeysUsable(c))) {
      throw new ApiError("UNAVAILABLE", "The signing keys are not usable; see the server log.", {
        headers: { "retry-after": "5" },
      });
    }
    return c.json({
      status: "ready",
      home: c.get("platform").name,
      migration: readiness.migration,
    });
  });

async function signingKeysUsable(c: Context<AppEnv>): Promise<boolean> {
  try {
    await c.get("services").accounts.jwks();
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.code === "CONFIG_INVALID") return false;
    throw err;
  }
}
