import { Hono } from "hono";
import * as z from "zod/mini";
import { maxApiKeysPerUser } from "../../core/accounts/api-keys";
import {
  apiKeyViewSchema,
  createApiKeyInput,
  createdApiKeySchema,
} from "../../core/accounts/schemas";
import { readJsonObject } from "../body";
import type { AppEnv } from "../context";
import { noStore } from "../middleware/no-store";
import { openApiPaths, type RouteDocs } from "../route-docs";

const tags = ["api keys"];

/** What each route below does, for /openapi.json (mounted at /api/keys). */
const docs = () =>
  ({
    "post /": {
      tags,
      summary: "Create an API key (the secret is in this answer only)",
      description: `Keys act as their owner under the rules, limited by their scopes, never as an admin. At most ${maxApiKeysPerUser} active keys per account. Needs a recent sign-in (STEP_UP_REQUIRED otherwise: step up at /api/auth/step-up).`,
      auth: "user",
      body: createApiKeyInput,
      responses: { "201": { description: "Created", schema: createdApiKeySchema } },
      raises: ["API_KEY_LIMIT", "STEP_UP_REQUIRED"],
    },
    "get /": {
      tags,
      summary: "The signed-in account's API keys",
      auth: "user",
      responses: {
        "200": { description: "Keys", schema: z.object({ items: z.array(apiKeyViewSchema) }) },
      },
    },
    "delete /:id": {
      tags,
      summary: "Revoke an API key",
      auth: "user",
      responses: { "204": { description: "Revoked" } },
      raises: ["NOT_FOUND"],
    },
  }) satisfies RouteDocs;

export const apiKeyPaths = () => openApiPaths("/api/keys", docs());

/** /api/keys: a signed-in user's API keys (the account service's). */
export function apiKeyRoutes() {
  const app = new Hono<AppEnv>();
  app.use(noStore);

  app.post("/", async (c) => {
    const { accounts } = c.get("services");
    return c.json(await accounts.createApiKey(c.get("principal"), await readJsonObject(c)), 201);
  });

  app.get("/", async (c) => {
    return c.json({ items: await c.get("services").accounts.listApiKeys(c.get("principal")) });
  });

  app.delete("/:id", async (c) => {
    await c.get("services").accounts.revokeApiKey(c.get("principal"), c.req.param("id"));
    return c.body(null, 204);
  });

  return app;
}
