import type { Context } from "hono";
import { Hono } from "hono";
import { jsonSchema } from "../../core/kernel/problem-docs";
import {
  erasureResultSchema,
  exportDocumentSchema,
  retentionReportSchema,
  retentionRunSchema,
} from "../../core/privacy/schemas";
import { eraseInput } from "../../core/privacy/service";
import { readJsonObject } from "../body";
import type { AppEnv } from "../context";
import { noStore } from "../middleware/no-store";
import { openApiPaths, type RouteDocs } from "../route-docs";

const tags = ["privacy"];

/** A function, as `docs` (see RouteDocs): its JSON Schema is built only with the document. */
const exportAnswer = () => ({
  description:
    "The export as one JSON document, streamed (rows are read in pages, so memory stays flat for large accounts)",
  headers: {
    "Content-Disposition": {
      schema: { type: "string" },
      description: "attachment; filename=nearbase-export-<id>-<date>.json",
    },
  },
  content: { "application/json": { schema: jsonSchema(exportDocumentSchema, "output") } },
});

/** An erasure is a write: it answers with the read-your-writes token, as record writes do. */
const erased = {
  description: "Erased",
  schema: erasureResultSchema,
  headers: { "Nearbase-Consistency": { $ref: "#/components/headers/ConsistencyToken" } },
};

const erasureDescription =
  "Applies every collection's erasure policy (delete, anonymise, or keep with a legal basis) to the account's records, deletes the account with its sessions, refresh tokens, API keys, one-time tokens and linked identities, removes outbox events that carry its data, moves every touched collection's cache version (no cached answer holding the data is served after the commit), emits `user.erased` and `user.deleted` (id only) and writes an audit entry without personal values — all in one transaction.";

/** What each route below does, for /openapi.json (mounted at /). */
const docs = () =>
  ({
    "get /api/me/export": {
      tags,
      summary: "Download everything held about the signed-in account (GDPR Art. 15/20, CCPA)",
      description:
        "Account, sessions, refresh-token and API-key metadata (never secrets), linked identities, every owned record in every collection (encrypted fields decrypted), the audit entries about the account, and each part's legal basis, erasure policy and retention. Rate limited per account (EXPORT_LIMIT_PER_ACCOUNT); audited.",
      auth: "user",
      responses: { "200": exportAnswer() },
      raises: ["FORBIDDEN", "NOT_FOUND", "CONFIG_INVALID"],
    },
    "delete /api/me": {
      tags,
      summary: "Erase the signed-in account and its data (GDPR Art. 17, CCPA deletion)",
      description: `${erasureDescription} Needs re-authentication: the password (\`{ "password": "…" }\`), or, for accounts without one, a sign-in within ERASE_REAUTH_MINUTES.`,
      auth: "user",
      body: eraseInput,
      responses: { "200": erased },
      raises: ["FORBIDDEN", "NOT_FOUND", "REAUTHENTICATION_REQUIRED"],
    },
    "get /api/admin/users/:id/export": {
      tags,
      summary: "Export any account's data (admins)",
      auth: "admin",
      responses: { "200": exportAnswer() },
      raises: ["NOT_FOUND", "CONFIG_INVALID"],
    },
    "post /api/admin/users/:id/erase": {
      tags,
      summary: "Erase any account and its data (admins)",
      description: erasureDescription,
      auth: "admin",
      responses: { "200": erased },
      raises: ["NOT_FOUND"],
    },
    "get /api/admin/privacy/retention": {
      tags,
      summary: "Retention dry run: what the retention job would remove now",
      auth: "admin",
      responses: { "200": { description: "Report", schema: retentionReportSchema } },
    },
    "post /api/admin/privacy/retention": {
      tags,
      summary: "Run retention now (the scheduled job does the same every hour)",
      auth: "admin",
      responses: { "200": { description: "Removed per collection", schema: retentionRunSchema } },
    },
  }) satisfies RouteDocs;

export const privacyPaths = () => openApiPaths("", docs());

/** The export as a streamed download (text chunks from the engine, encoded as they are pulled). */
function download(
  c: Context<AppEnv>,
  result: { document: AsyncGenerator<string>; filename: string },
) {
  const encoder = new TextEncoder();
  const { document } = result;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await document.next();
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(next.value));
    },
    async cancel() {
      await document.return(undefined);
    },
  });
  return c.body(stream, 200, {
    "content-type": "application/json; charset=utf-8",
    "content-disposition": `attachment; filename="${result.filename}"`,
  });
}

/** An optional JSON body (DELETE /api/me may have none when a fresh sign-in is enough). */
async function optionalBody(c: Context<AppEnv>): Promise<Record<string, unknown>> {
  const length = c.req.header("content-length");
  if (c.req.header("content-type") === undefined && (length === undefined || length === "0"))
    return {};
  return readJsonObject(c);
}

/** Privacy routes: export, erasure (self and admin), retention. */
export function privacyRoutes() {
  const app = new Hono<AppEnv>();
  // Scoped to these paths: mounted at "/", a bare use() would run (and name the route) for every
  // request, marking cacheable public answers no-store and every metric "(unmatched)".
  for (const path of [
    "/api/me",
    "/api/me/export",
    "/api/admin/users/:id/*",
    "/api/admin/privacy/*",
  ])
    app.use(path, noStore);

  app.get("/api/me/export", async (c) =>
    download(c, await c.get("services").privacy.exportData(c.get("principal"))),
  );

  app.delete("/api/me", async (c) => {
    const body = await optionalBody(c);
    const result = await c.get("services").privacy.erase(c.get("principal"), body);
    c.set("wrote", result.versions);
    return c.json({ erased: true, userId: result.userId, collections: result.collections });
  });

  app.get("/api/admin/users/:id/export", async (c) =>
    download(c, await c.get("services").privacy.exportData(c.get("principal"), c.req.param("id"))),
  );

  app.post("/api/admin/users/:id/erase", async (c) => {
    const result = await c.get("services").privacy.erase(c.get("principal"), {}, c.req.param("id"));
    c.set("wrote", result.versions);
    return c.json({ erased: true, userId: result.userId, collections: result.collections });
  });

  app.get("/api/admin/privacy/retention", async (c) => {
    const report = await c.get("services").privacy.retentionReport(c.get("principal"));
    return c.json({ dryRun: true, ...report });
  });

  app.post("/api/admin/privacy/retention", async (c) => {
    const removed = await c.get("services").privacy.runRetention(c.get("principal"));
    return c.json({ removed });
  });

  return app;
}
