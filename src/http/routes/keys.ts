import { and, eq, isNull } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { plainTextSchema } from "../../core/accounts/identifiers";
import { apiKeys } from "../../core/db/schema/auth";
import { randomId, randomToken, sha256 } from "../../core/kernel/crypto";
import { ApiError } from "../../core/kernel/errors";
import { readJsonObject, validate } from "../body";
import type { AppEnv } from "../context";
import { apiKeyPrefix } from "../middleware/authenticate";
import { noStore, requireUser } from "./auth";

/** Active (unrevoked, unexpired) keys one user may hold. */
export const maxApiKeysPerUser = 20;

const createBody = z
  .object({
    name: plainTextSchema(100).pipe(z.string().min(1)),
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
 * by their scopes, and never with admin rights; they share their owner's rate-limit budget, and
 * one user holds at most `maxApiKeysPerUser` active keys (409 API_KEY_LIMIT beyond).
 */
export function apiKeyRoutes() {
  const app = new Hono<AppEnv>();
  app.use(noStore);

  app.post("/", async (c) => {
    const me = requireUser(c);
    const body = validate(createBody, await readJsonObject(c)) as z.infer<typeof createBody>;
    const now = c.var.platform.clock.now();
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
    // Count and insert in one statement, so concurrent creations cannot pass the cap together.
    const inserted = await c.var.platform.sql.execute({
      sql: `INSERT INTO nb_api_keys (id, user_id, name, prefix, hash, scopes, created, expires_at)
            SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8
            WHERE (SELECT count(*) FROM nb_api_keys WHERE user_id = ?2 AND revoked_at IS NULL
                   AND (expires_at IS NULL OR expires_at > ?9)) < ?10`,
      args: [
        row.id,
        row.userId,
        row.name,
        row.prefix,
        row.hash,
        JSON.stringify(row.scopes),
        row.created,
        row.expiresAt,
        now.getTime(),
        maxApiKeysPerUser,
      ],
    });
    if (inserted.rowsAffected === 0) {
      throw new ApiError(
        "API_KEY_LIMIT",
        `An account holds at most ${maxApiKeysPerUser} active API keys; revoke one first.`,
      );
    }
    return c.json({ ...view(row), key: secret }, 201);
  });

  app.get("/", async (c) => {
    const me = requireUser(c);
    const rows = await c.var.platform.db
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.userId, me.id), isNull(apiKeys.revokedAt)));
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
