import { and, eq, gt, isNull } from "drizzle-orm";
import type { Database } from "../db/client";
import { oneTimeTokens } from "../db/schema/auth";
import { randomToken, sha256 } from "../kernel/crypto";

export type OneTimePurpose = (typeof oneTimeTokens.$inferSelect)["purpose"];

/**
 * Issues a single-use token for a user and purpose: returns the raw secret (to mail or hand
 * over) and the insert to run; only its SHA-256 is stored.
 */
export async function issueOneTimeToken(
  db: Database,
  row: { userId: string; purpose: OneTimePurpose; expiresAt: number },
  raw = randomToken(32),
) {
  return { raw, insert: db.insert(oneTimeTokens).values({ ...row, hash: await sha256(raw) }) };
}

/** Finds who a token belongs to, without spending it (to validate the rest of a request first). */
export async function peekOneTimeToken(
  db: Database,
  raw: string,
  purpose: OneTimePurpose,
  now: number,
): Promise<string | undefined> {
  const [row] = await db
    .select({ userId: oneTimeTokens.userId })
    .from(oneTimeTokens)
    .where(
      and(
        eq(oneTimeTokens.hash, await sha256(raw)),
        eq(oneTimeTokens.purpose, purpose),
        isNull(oneTimeTokens.usedAt),
        gt(oneTimeTokens.expiresAt, now),
      ),
    );
  return row?.userId;
}

/**
 * The one way to spend a single-use token (reset link, verification link, OAuth sign-in code).
 * One statement marks the presented token AND every other unspent token of the same user and
 * purpose as used, so spending a link kills its older (or newer) siblings — a reset link left in
 * an old mail cannot be replayed after a reset — and two concurrent spends cannot both succeed.
 * Returns the user id, or `undefined` when the token is unknown, expired, used or of another
 * purpose (nothing is changed then).
 */
export async function spendOneTimeToken(
  db: Database,
  raw: string,
  purpose: OneTimePurpose,
  now: number,
): Promise<string | undefined> {
  const hash = await sha256(raw);
  const owner = db
    .select({ userId: oneTimeTokens.userId })
    .from(oneTimeTokens)
    .where(
      and(
        eq(oneTimeTokens.hash, hash),
        eq(oneTimeTokens.purpose, purpose),
        isNull(oneTimeTokens.usedAt),
        gt(oneTimeTokens.expiresAt, now),
      ),
    );
  const spent = await db
    .update(oneTimeTokens)
    .set({ usedAt: now })
    .where(
      and(
        eq(oneTimeTokens.userId, owner),
        eq(oneTimeTokens.purpose, purpose),
        isNull(oneTimeTokens.usedAt),
      ),
    )
    .returning({ hash: oneTimeTokens.hash, userId: oneTimeTokens.userId });
  return spent.find((row) => row.hash === hash)?.userId;
}
