import { and, eq, isNull } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { randomId, randomToken, sha256 } from "../crypto";
import { apiKeys } from "../db/schema/auth";
import { readJsonObject, validate } from "../http/body";
import type { AppEnv } from "../http/context";
import { ApiError } from "../http/errors";
import { apiKeyPrefix } from "./middleware";
import { requireUser } from "./routes";

const createBody = z
  .object({
    name: z.string().trim().min(1).max(100),
    scopes: z
      .array(z.enum(["read", "write"]))
      .min(1)
      .max(2),
    expiresInDays: z.number().int().min(1).max(3650).optional(),
  })
  .strict();

/**
 * /api/keys: a signed-in user's API keys. The secret (`nb_live_` + 32 random bytes) is shown
 * once, at creation; only its SHA-256 is stored. Keys act as their owner under the rules, limited
 * by their scopes, and never with admin rights.
 */
export function apiKeyRoutes() {
  const app = new Hono<AppEnv>();

  app.post("/", async (c) => {
    const me = requireUser(c);
    const body = validate(createBody, await readJsonObject(c)) as z.infer<typeof createBody>;
    const { db, clock } = c.var.platform;
    const now = clock.now();
    const secret = `${apiKeyPrefix}${randomToken(32)}`;
    const row = {
      id: randomId("key"),
      userId: me.id,
      name: body.name,
      prefix: secret.slice(0, apiKeyPrefix.length + 6),
      hash: await sha256(secret),
      scopes: [...new Set(body.scopes)],
      created: now.toISOString(),
      expiresAt:
        body.expiresInDays === undefined ? null : now.getTime() + body.expiresInDays * 86_400_000,
    };
    await db.insert(apiKeys).values(row);
    c.header("cache-control", "no-store");
    return c.json({ ...view(row), key: secret }, 201);
  });

  app.get("/", async (c) => {
    const me = requireUser(c);
    const rows = await c.var.platform.db
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.userId, me.id), isNull(apiKeys.revokedAt)));
    c.header("cache-control", "private, no-store");
    return c.json({ items: rows.map(view) });
  });

  app.delete("/:id", async (c) => {
    const me = requireUser(c);
    const revoked = await c.var.platform.db
      .update(apiKeys)
      .set({ revokedAt: c.var.platform.clock.now().toISOString() })
      .where(
        and(
          eq(apiKeys.id, c.req.param("id")),
          eq(apiKeys.userId, me.id),
          isNull(apiKeys.revokedAt),
        ),
      )
      .returning({ id: apiKeys.id });
    if (revoked.length === 0) throw new ApiError("NOT_FOUND", "No such API key.");
    return c.body(null, 204);
  });

  return app;
}

function view(row: {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  created: string;
  expiresAt: number | null;
  lastUsed?: string | null;
}) {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes,
    created: row.created,
    expiresAt: row.expiresAt === null ? null : new Date(row.expiresAt).toISOString(),
    lastUsed: row.lastUsed ?? null,
  };
}
