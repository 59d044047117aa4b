import { and, eq, gt, isNull, or } from "drizzle-orm";
import { apiKeys, users } from "../db/schema/auth";
import { engineEventStatement } from "../events/outbox";
import { randomId, randomToken, sha256 } from "../kernel/crypto";
import { ApiError } from "../kernel/errors";
import type { Principal } from "../kernel/principal";
import { validate } from "../kernel/validate";
import { auditStatement } from "../privacy/audit";
import type { AccountDeps, Defer } from "./deps";
import { type ApiKeyView, createApiKeyInput } from "./schemas";
import { requireRecentAuth } from "./step-up";
import { requireUser } from "./users";

/** Every API key starts with this, so a key is told from an access token at a glance. */
export const apiKeyPrefix = "nb_live_";

/** Active (unrevoked, unexpired) keys one user may hold. */
export const maxApiKeysPerUser = 20;

/** `lastUsed` is written at most this often per key (it is informational). */
const lastUsedResolutionMs = 60_000;

type KeyRow = typeof apiKeys.$inferSelect;

function view(
  row: Omit<KeyRow, "hash" | "userId" | "revokedAt" | "lastUsed"> & { lastUsed?: string | null },
): ApiKeyView {
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

/**
 * A signed-in user's API keys. The secret (`nb_live_` + 32 random bytes) is shown once, at
 * creation; only its SHA-256 is stored. Keys act as their owner under the rules, limited by their
 * scopes, and never with admin rights; they share their owner's rate-limit budget, and one user
 * holds at most `maxApiKeysPerUser` active keys (409 API_KEY_LIMIT beyond).
 */
export function apiKeyOperations({ db, sql, clock, auth }: AccountDeps) {
  return {
    async createApiKey(
      principal: Principal,
      input: unknown,
    ): Promise<ApiKeyView & { key: string }> {
      const me = requireUser(principal);
      // A key outlives sessions: minting one needs a recent sign-in (a stolen, refreshed token cannot).
      requireRecentAuth(principal, clock.now().getTime(), (await auth()).stepUpMaxAgeSeconds);
      const body = validate(createApiKeyInput, input);
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
      // Count and insert in one statement, so concurrent creations cannot pass the cap together.
      // The api_key.created event commits with the key, and only if the key was inserted.
      const [inserted] = await sql.batch(
        [
          {
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
          },
          engineEventStatement(
            "api_key.created",
            row.id,
            `user:${me.id}`,
            { ...view(row), userId: me.id },
            now.getTime(),
          ),
          // After the event: changes() is the event's insert, so the entry exists iff the key does.
          auditStatement(
            { action: "api_key.created", actor: `user:${me.id}`, subject: me.id, target: row.id },
            now.getTime(),
            true,
          ),
        ],
        "write",
      );
      if (inserted!.rowsAffected === 0) {
        throw new ApiError(
          "API_KEY_LIMIT",
          `An account holds at most ${maxApiKeysPerUser} active API keys; revoke one first.`,
        );
      }
      return { ...view(row), key: secret };
    },

    /** The caller's unrevoked keys (expired ones included, so they can be told apart). */
    async listApiKeys(principal: Principal): Promise<ApiKeyView[]> {
      const me = requireUser(principal);
      const rows = await db
        .select()
        .from(apiKeys)
        .where(and(eq(apiKeys.userId, me.id), isNull(apiKeys.revokedAt)));
      return rows.map(view);
    },

    async revokeApiKey(principal: Principal, keyId: string): Promise<void> {
      const me = requireUser(principal);
      const now = clock.now();
      // The api_key.revoked event commits with the revocation, and only if a key was revoked.
      const [revoked] = await sql.batch(
        [
          {
            sql: "UPDATE nb_api_keys SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
            args: [now.toISOString(), keyId, me.id],
          },
          engineEventStatement(
            "api_key.revoked",
            keyId,
            `user:${me.id}`,
            { id: keyId, userId: me.id },
            now.getTime(),
          ),
          auditStatement(
            { action: "api_key.revoked", actor: `user:${me.id}`, subject: me.id, target: keyId },
            now.getTime(),
            true,
          ),
        ],
        "write",
      );
      if (revoked!.rowsAffected === 0) throw new ApiError("NOT_FOUND", "No such API key.");
    },
  };
}

/**
 * The principal an API key acts as, or `undefined` for an unknown, revoked or expired key (or one
 * whose owner is gone). Records when it was last used, after the answer (`defer`).
 */
export async function apiKeyPrincipal(
  { db, clock }: Pick<AccountDeps, "db" | "clock">,
  key: string,
  defer: Defer,
): Promise<Principal | undefined> {
  const now = clock.now();
  const [row] = await db
    .select({
      id: apiKeys.id,
      userId: apiKeys.userId,
      scopes: apiKeys.scopes,
      lastUsed: apiKeys.lastUsed,
    })
    .from(apiKeys)
    .innerJoin(users, eq(users.id, apiKeys.userId))
    .where(
      and(
        eq(apiKeys.hash, await sha256(key)),
        isNull(apiKeys.revokedAt),
        or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now.getTime())),
      ),
    );
  if (row === undefined) return undefined;
  if (row.lastUsed === null || now.getTime() - Date.parse(row.lastUsed) > lastUsedResolutionMs) {
    defer(
      db
        .update(apiKeys)
        .set({ lastUsed: now.toISOString() })
        .where(eq(apiKeys.id, row.id))
        .then(() => {}),
    );
  }
  return { kind: "apiKey", id: row.id, ownerId: row.userId, scopes: row.scopes };
}
