import { and, eq, gt, isNull, lt, sql } from "drizzle-orm";
import { emailOtps } from "../db/schema/strong-auth";
import { constantTimeEqual, randomId, sha256 } from "../kernel/crypto";
import { unauthenticated } from "../kernel/refusals";
import { validate } from "../kernel/validate";
import { writeAudit } from "../privacy/audit";
import type { AccountDeps, Caller, Defer } from "./deps";
import { rejectedCredential } from "./failures";
import { finishSignIn } from "./mfa";
import { mailboxProvenStatements, revokeAllCredentials } from "./revoke";
import type { SignedIn } from "./schemas";
import { type MfaRequired, otpRequestInput, otpVerifyInput } from "./strong-schemas";
import { throttleAccount } from "./throttle";
import { userByEmail, userById } from "./users";

/** How long a mailed code works. */
export const otpTtlMs = 10 * 60_000;
/** Wrong codes one request may be tried with before it dies. */
export const otpMaxAttempts = 5;

const utf8 = new TextEncoder();

/** 8 random decimal digits (rejection sampling: no modulo bias). */
function randomDigits(count: number): string {
  let out = "";
  while (out.length < count) {
    for (const b of crypto.getRandomValues(new Uint8Array(count))) {
      if (b < 250 && out.length < count) out += String(b % 10);
    }
  }
  return out;
}

const codeHash = (otpId: string, code: string) => sha256(`${otpId}:${code}`);

const badCode = () =>
  rejectedCredential("The code is wrong, expired or used up; ask for a new one.");

/**
 * Sign-in by a code mailed to the account's address (PocketBase-style OTP, with a magic link
 * carrying the same code). `requestOtp` answers the same — an `otpId` and 202 — whether or not
 * the address has an account, and writes and mails after the answer (`defer`), so neither the
 * answer nor its timing tells. Codes: 8 digits, stored as SHA-256 of id and code, 10 minutes,
 * 5 attempts, single use (spending one spends every other pending code of the account);
 * requests are throttled per account (FORGOT_LIMIT_PER_ACCOUNT) and wrong codes count against
 * the address (CREDENTIAL_FAILURE_LIMIT). A spent code proves the mailbox, so it verifies the
 * address. Accounts with two-factor sign-in get an MFA ticket instead of tokens.
 */
export function emailOtpOperations({ db, sql: client, clock, log, mailer, auth }: AccountDeps) {
  return {
    async requestOtp(input: unknown, defer: Defer): Promise<{ otpId: string }> {
      const { email } = validate(otpRequestInput, input);
      const config = await auth();
      const now = clock.now().getTime();
      await throttleAccount(client, config.forgotPerAccount, "otp-account", email, now);
      const otpId = randomId("otp");
      const code = randomDigits(8);
      const link = `${config.publicUrl}/sign-in#otp=${otpId}&code=${code}`;
      const work = (async () => {
        const user = await userByEmail(db, email);
        if (user === undefined) return;
        await db.insert(emailOtps).values({
          id: otpId,
          userId: user.id,
          codeHash: await codeHash(otpId, code),
          expiresAt: now + otpTtlMs,
          created: now,
        });
        await mailer.send({
          to: email,
          // The subject reaches the log (the mailers log recipient and subject): no code in it.
          subject: "Your sign-in code",
          text: `Your sign-in code is ${code}. It works once, for 10 minutes.\n\nOr open this link to sign in:\n\n${link}\n\nIf you did not ask for it, ignore this message.`,
        });
      })().catch((err: unknown) => {
        log.write({
          level: "error",
          msg: "mail not sent",
          subject: "sign-in code",
          error: err instanceof Error ? err.message : String(err),
        });
      });
      defer(work);
      return { otpId };
    },

    async verifyOtp(input: unknown, caller: Caller): Promise<SignedIn | MfaRequired> {
      const body = validate(otpVerifyInput, input);
      const config = await auth();
      const now = clock.now();
      const at = now.getTime();
      // The attempt is counted before the code is compared, in one statement: concurrent guesses
      // cannot pass the cap together.
      const [row] = await db
        .update(emailOtps)
        .set({ attempts: sql`${emailOtps.attempts} + 1` })
        .where(
          and(
            eq(emailOtps.id, body.otpId),
            isNull(emailOtps.usedAt),
            gt(emailOtps.expiresAt, at),
            lt(emailOtps.attempts, otpMaxAttempts),
          ),
        )
        .returning({ userId: emailOtps.userId, codeHash: emailOtps.codeHash });
      const given = await codeHash(body.otpId, body.code);
      if (row === undefined) throw badCode();
      if (!constantTimeEqual(utf8.encode(given), utf8.encode(row.codeHash))) {
        // A wrong code for a live one: the account is known, so the failure is audited.
        await writeAudit(
          client,
          {
            action: "auth.sign_in_failed",
            actor: "anonymous",
            subject: row.userId,
            outcome: "failed",
            details: { method: "otp", reason: "wrong_code" },
          },
          at,
        );
        throw badCode();
      }
      // Spend it and every other pending code of the account; only one concurrent spend wins.
      const spent = await db
        .update(emailOtps)
        .set({ usedAt: at })
        .where(and(eq(emailOtps.userId, row.userId), isNull(emailOtps.usedAt)))
        .returning({ id: emailOtps.id });
      if (!spent.some((s) => s.id === body.otpId)) throw badCode();
      const user = await userById(db, row.userId);
      if (user === undefined) throw unauthenticated("This account no longer exists.");
      // Reading the mail proves the mailbox, as a verification link does.
      const proven = await mailboxProvenStatements(db, user, now);
      if (proven.droppedIdentities > 0) {
        await revokeAllCredentials(db, user.id, "identity_dropped", {
          now,
          log,
          also: proven.statements,
        });
      } else if (proven.statements.length > 0) {
        const [first, ...rest] = proven.statements;
        await db.batch([first!, ...rest]);
      }
      const verified = user.emailVerifiedAt ?? now.toISOString();
      return finishSignIn(db, config, { ...user, emailVerifiedAt: verified }, caller, now, "otp");
    },
  };
}
