import { and, eq, gt, isNotNull, isNull, lt, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { authTickets, totpCredentials } from "../db/schema/strong-auth";
import { randomToken, sha256 } from "../kernel/crypto";
import type { AuthConfig } from "./config";
import type { Caller } from "./deps";
import type { SignedIn } from "./schemas";
import { startSession } from "./sessions";
import type { MfaRequired } from "./strong-schemas";
import { publicUser, type User } from "./users";

/** How long a second factor may take after the first. */
export const mfaTicketTtlMs = 5 * 60_000;
/** Codes one MFA ticket may be tried with. */
export const mfaTicketAttempts = 5;

/** How a first factor was passed. */
export type FirstFactor = "password" | "otp" | "oauth" | "passkey";

/** Whether `userId` has confirmed TOTP two-factor sign-in. */
export async function hasTotp(db: Database, userId: string): Promise<boolean> {
  const [row] = await db
    .select({ userId: totpCredentials.userId })
    .from(totpCredentials)
    .where(and(eq(totpCredentials.userId, userId), isNotNull(totpCredentials.enabledAt)));
  return row !== undefined;
}

/**
 * The end of every first-factor sign-in (password, mailed code, OAuth provider, and passkeys
 * when PASSKEY_SATISFIES_MFA is false): tokens — the same issuance everywhere (access token with
 * `auth_time`, rotating refresh token) — unless the account has two-factor sign-in, in which case
 * a short-lived, single-use MFA ticket to present with a code. By default a user-verified passkey
 * is two factors in one (something held, and a PIN or biometric) and does not come here.
 */
export async function finishSignIn(
  db: Database,
  config: AuthConfig,
  user: User,
  caller: Caller,
  now: Date,
  method: FirstFactor,
): Promise<SignedIn | MfaRequired> {
  if (await hasTotp(db, user.id)) {
    const raw = randomToken(32);
    await db.insert(authTickets).values({
      hash: await sha256(raw),
      kind: "mfa",
      userId: user.id,
      method,
      expiresAt: now.getTime() + mfaTicketTtlMs,
    });
    return {
      status: "mfa_required",
      mfaTicket: raw,
      methods: ["totp", "recovery_code"],
      expiresIn: mfaTicketTtlMs / 1000,
    };
  }
  const pair = await startSession(db, config, user, caller.userAgent, now);
  return { user: publicUser(user), ...pair };
}

/**
 * Counts one attempt on an MFA ticket and returns its account, or undefined when the ticket is
 * unknown, expired, spent or out of attempts. The attempt is counted before any code is checked,
 * in one statement, so concurrent guesses cannot exceed the cap.
 */
export async function attemptMfaTicket(
  db: Database,
  raw: string,
  now: number,
): Promise<{ userId: string; method: string } | undefined> {
  const [row] = await db
    .update(authTickets)
    .set({ attempts: sql`${authTickets.attempts} + 1` })
    .where(
      and(
        eq(authTickets.hash, await sha256(raw)),
        eq(authTickets.kind, "mfa"),
        isNull(authTickets.usedAt),
        gt(authTickets.expiresAt, now),
        lt(authTickets.attempts, mfaTicketAttempts),
      ),
    )
    .returning({ userId: authTickets.userId, method: authTickets.method });
  return row;
}

/** Spends an MFA ticket; false when someone else spent it first. */
export async function spendMfaTicket(db: Database, raw: string, now: number): Promise<boolean> {
  const spent = await db
    .update(authTickets)
    .set({ usedAt: now })
    .where(and(eq(authTickets.hash, await sha256(raw)), isNull(authTickets.usedAt)))
    .returning({ hash: authTickets.hash });
  return spent.length > 0;
}
