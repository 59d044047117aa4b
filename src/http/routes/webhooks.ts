import { Hono } from "hono";
import * as z from "zod/mini";
import {
  attemptView,
  createdEndpoint,
  createEndpointInput,
  deliveryView,
  endpointView,
  replayRangeInput,
  rotateSecretInput,
  updateEndpointInput,
} from "../../core/events/schemas";
import { readJsonObject } from "../body";
import type { AppEnv } from "../context";
import { noStore } from "../middleware/no-store";
import { openApiPaths, type RouteDocs } from "../route-docs";

const tags = ["webhooks"];

/** What each route below does, for /openapi.json (mounted at /api/webhooks). */
const docs = () =>
  ({
    "post /": {
      tags,
      summary: "Create a webhook endpoint (its signing secret is in this answer only)",
      description:
        "Patterns select event types: `posts.created`, `posts.*`, `*.deleted`, `*`. Deliveries are signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature). Private, link-local and metadata addresses are refused.",
      auth: "admin",
      body: createEndpointInput,
      responses: { "201": { description: "Created", schema: createdEndpoint } },
      raises: ["CONFIG_INVALID"],
    },
    "get /": {
      tags,
      summary: "Webhook endpoints",
      auth: "admin",
      responses: {
        "200": { description: "Endpoints", schema: z.object({ items: z.array(endpointView) }) },
      },
    },
    "get /:id": {
      tags,
      summary: "One webhook endpoint (shows whether it was disabled automatically, and why)",
      auth: "admin",
      responses: { "200": { description: "Endpoint", schema: endpointView } },
      raises: ["NOT_FOUND"],
    },
    "patch /:id": {
      tags,
      summary: "Change a webhook endpoint; `enabled: true` switches it on again",
      auth: "admin",
      body: updateEndpointInput,
      responses: { "200": { description: "Endpoint", schema: endpointView } },
      raises: ["NOT_FOUND"],
    },
    "delete /:id": {
      tags,
      summary: "Delete a webhook endpoint and its deliveries",
      auth: "admin",
      responses: { "204": { description: "Deleted" } },
      raises: ["NOT_FOUND"],
    },
    "post /:id/rotate-secret": {
      tags,
      summary: "Rotate the signing secret; both sign during the overlap",
      auth: "admin",
      body: rotateSecretInput,
      responses: { "200": { description: "The new secret (shown once)", schema: createdEndpoint } },
      raises: ["NOT_FOUND", "CONFIG_INVALID"],
    },
    "post /:id/test": {
      tags,
      summary: "Send a webhook.test event now and report the attempt",
      auth: "admin",
      responses: {
        "200": {
          description: "The attempt",
          schema: z.object({
            eventId: z.string(),
            outcome: z.enum(["succeeded", "failed"]),
            statusCode: z.nullable(z.number()),
            durationMs: z.number(),
            response: z.nullable(z.string()),
            error: z.nullable(z.string()),
          }),
        },
      },
      raises: ["NOT_FOUND"],
    },
    "get /:id/deliveries": {
      tags,
      summary:
        "Recent deliveries to the endpoint (newest first); ?status=pending|delivering|succeeded|dead",
      auth: "admin",
      parameters: [
        { name: "status", in: "query", schema: { type: "string" } },
        { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 200 } },
      ],
      responses: {
        "200": { description: "Deliveries", schema: z.object({ items: z.array(deliveryView) }) },
      },
      raises: ["NOT_FOUND", "INVALID_QUERY"],
    },
    "get /:id/deliveries/:deliveryId": {
      tags,
      summary: "One delivery and its per-attempt log",
      auth: "admin",
      responses: {
        "200": {
          description: "Delivery",
          schema: z.extend(deliveryView, { log: z.array(attemptView) }),
        },
      },
      raises: ["NOT_FOUND"],
    },
    "post /:id/deliveries/:deliveryId/replay": {
      tags,
      summary: "Send one delivery again, with a fresh attempt budget",
      auth: "admin",
      responses: { "202": { description: "Due now" } },
      raises: ["NOT_FOUND"],
    },
    "post /:id/replay": {
      tags,
      summary: "Replay a time range: dead deliveries and missed events in [since, until)",
      auth: "admin",
      body: replayRangeInput,
      responses: {
        "202": { description: "Deliveries now due", schema: z.object({ replayed: z.number() }) },
      },
      raises: ["NOT_FOUND"],
    },
  }) satisfies RouteDocs;

export const webhookPaths = () => openApiPaths("/api/webhooks", docs());

/** /api/webhooks: the admin API of the webhook service. */
export function webhookRoutes() {
  const app = new Hono<AppEnv>();
  app.use(noStore);

  app.post("/", async (c) => {
    const { webhooks } = c.get("services");
    return c.json(await webhooks.create(c.get("principal"), await readJsonObject(c)), 201);
  });
  app.get("/", async (c) =>
    c.json({ items: await c.get("services").webhooks.list(c.get("principal")) }),
  );
  app.get("/:id", async (c) =>
    c.json(await c.get("services").webhooks.get(c.get("principal"), c.req.param("id"))),
  );
  app.patch("/:id", async (c) => {
    const { webhooks } = c.get("services");
    return c.json(
      await webhooks.update(c.get("principal"), c.req.param("id"), await readJsonObject(c)),
    );
  });
  app.delete("/:id", async (c) => {
    await c.get("services").webhooks.remove(c.get("principal"), c.req.param("id"));
    return c.body(null, 204);
  });
  app.post("/:id/rotate-secret", async (c) => {
    const { webhooks } = c.get("services");
    const body = c.req.header("content-type") ? await readJsonObject(c) : {};
    return c.json(await webhooks.rotateSecret(c.get("principal"), c.req.param("id"), body));
  });
  app.post("/:id/test", async (c) =>
    c.json(await c.get("services").webhooks.test(c.get("principal"), c.req.param("id"))),
  );
  app.get("/:id/deliveries", async (c) => {
    const limit = c.req.query("limit");
    const items = await c
      .get("services")
      .webhooks.deliveries(c.get("principal"), c.req.param("id"), {
        status: c.req.query("status"),
        limit: limit === undefined ? undefined : Number.parseInt(limit, 10) || undefined,
      });
    return c.json({ items });
  });
  app.get("/:id/deliveries/:deliveryId", async (c) =>
    c.json(
      await c
        .get("services")
        .webhooks.delivery(c.get("principal"), c.req.param("id"), c.req.param("deliveryId")),
    ),
  );
  app.post("/:id/deliveries/:deliveryId/replay", async (c) => {
    await c
      .get("services")
      .webhooks.replay(c.get("principal"), c.req.param("id"), c.req.param("deliveryId"));
    c.get("platform").events.notify(c);
    return c.body(null, 202);
  });
  app.post("/:id/replay", async (c) => {
    const { webhooks } = c.get("services");
    const result = await webhooks.replayRange(
      c.get("principal"),
      c.req.param("id"),
      await readJsonObject(c),
    );
    c.get("platform").events.notify(c);
    return c.json(result, 202);
  });
  return app;
}
