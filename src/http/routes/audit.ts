import { Hono } from "hono";
import { ApiError } from "../../core/kernel/errors";
import { auditPageSchema } from "../../core/privacy/schemas";
import type { AppEnv } from "../context";
import { noStore } from "../middleware/no-store";
import { openApiPaths, type RouteDocs } from "../route-docs";

const tags = ["audit"];
const maxLimit = 200;
const known = ["filter", "limit", "cursor"];

/** What each route below does, for /openapi.json (mounted at /api/admin/audit). */
const docs = () =>
  ({
    "get /": {
      tags,
      summary: "The audit log, newest first (admins; read-only — no route changes an entry)",
      description:
        "Entries for sign-ins (ok and failed), refresh-token reuse, password changes and resets, API keys, role changes, admin actions, exports, erasures and webhook changes. `filter` takes the filter language over `id`, `at` (epoch ms), `action`, `outcome`, `actor`, `subject`, `target`, e.g. `action = 'auth.sign_in_failed' && at > 1764000000000`. Entries older than AUDIT_RETENTION_DAYS are removed by the retention job.",
      auth: "admin",
      parameters: [
        { name: "filter", in: "query", schema: { type: "string" } },
        { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: maxLimit } },
        {
          name: "cursor",
          in: "query",
          schema: { type: "string" },
          description: "The previous page's nextCursor",
        },
      ],
      responses: { "200": { description: "A page of entries", schema: auditPageSchema } },
      raises: ["INVALID_FILTER", "INVALID_QUERY"],
    },
  }) satisfies RouteDocs;

export const auditPaths = () => openApiPaths("/api/admin/audit", docs());

/** /api/admin/audit: querying the audit log. There is deliberately no write route. */
export function auditRoutes() {
  const app = new Hono<AppEnv>();
  app.use(noStore);
  app.get("/", async (c) => {
    const unknown = Object.keys(c.req.queries()).filter((k) => !known.includes(k));
    if (unknown.length > 0)
      throw new ApiError(
        "INVALID_QUERY",
        `Unknown query parameter ${JSON.stringify(unknown[0])}.`,
        {
          errors: unknown.map((k) => ({
            path: `/${k.slice(0, 64)}`,
            message: "unknown query parameter",
          })),
        },
      );
    const limitText = c.req.query("limit");
    if (
      limitText !== undefined &&
      !(/^\d{1,3}$/.test(limitText) && Number(limitText) >= 1 && Number(limitText) <= maxLimit)
    )
      throw new ApiError("INVALID_QUERY", `limit: must be a whole number from 1 to ${maxLimit}`, {
        errors: [{ path: "/limit", message: `must be from 1 to ${maxLimit}` }],
      });
    const cursor = c.req.query("cursor");
    if (cursor !== undefined && !/^aud_[a-z0-9]{1,40}$/.test(cursor))
      throw new ApiError("INVALID_QUERY", "cursor: is not a cursor this API issued", {
        errors: [{ path: "/cursor", message: "not a cursor" }],
      });
    const page = await c.get("services").privacy.audit(c.get("principal"), {
      filter: c.req.query("filter"),
      limit: limitText === undefined ? undefined : Number(limitText),
      before: cursor,
    });
    return c.json(page);
  });
  return app;
}
