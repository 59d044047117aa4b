import type { BatchItem } from "drizzle-orm/batch";
import { randomToken } from "../kernel/crypto";
import { ApiError } from "../kernel/errors";
import type { Principal } from "../kernel/principal";
import { validate } from "../kernel/validate";
import { auditSql } from "../privacy/audit";
import type { AccountDeps, Defer } from "./deps";
import { dropUnprovenFactorsStatements } from "./factors";
import {
  issueOneTimeToken,
  type OneTimePurpose,
  peekOneTimeToken,
  spendOneTimeToken,
} from "./one-time-tokens";
import { hashPassword, passwordProblem } from "./passwords";
import { mailboxProvenStatements, revokeAllCredentials } from "./revoke";
import { confirmEmailInput, forgotPasswordInput, resetPasswordInput } from "./schemas";
import { activeSessions, revokeSession } from "./sessions";
import { weakPassword } from "./sign-in";
import { requireRecentAuth } from "./step-up";
import { changePasswordInput } from "./strong-schemas";
import { throttleAccount } from "./throttle";
import { currentUser, requireUser, setPasswordHash, userByEmail, userById } from "./users";

const resetTtlMs = 30 * 60_000;
const verifyTtlMs = 24 * 60 * 60_000;

const badLink = () =>
  new ApiError("BAD_REQUEST", "This link is invalid, expired or already used; ask for a new one.");

/**
 * Password reset and email verification: single-use tokens (32 random bytes, stored as SHA-256),
 * mailed as links, expiring after 30 minutes (reset) or 24 hours (verify). "Forgot" answers the
 * same whether or not the account exists, so it reveals nothing.
 */
export function recoveryOperations({ db, sql, clock, log, mailer, auth }: AccountDeps) {
  /**
   * Stores a single-use token and mails its link after the answer (`defer`): the answer then takes
   * the same time whether or not there was an account to write to and mail (no timing oracle), and
   * a slow mail provider does not hold the request. A failure is logged without the message body.
   */
  function mailLinkLater(
    defer: Defer,
    row: { userId: string; purpose: OneTimePurpose; expiresAt: number },
    message: (raw: string) => { to: string; subject: string; text: string },
  ) {
    const raw = randomToken(32);
    const mail = message(raw);
    const work = (async () => {
      await (await issueOneTimeToken(db, row, raw)).insert;
      await mailer.send(mail);
    })().catch((err: unknown) => {
      log.write({
        level: "error",
        msg: "mail not sent",
        to: mail.to,
        subject: mail.subject,
        error: err instanceof Error ? err.message : String(err),
      });
    });
    defer(work);
  }

  return {
    /** Mails a reset link if the account exists; the same answer (and timing) if not. */
    async forgotPassword(input: unknown, defer: Defer): Promise<void> {
      const { email } = validate(forgotPasswordInput, input);
      const config = await auth();
      await throttleAccount(
        sql,
        config.forgotPerAccount,
        "forgot-account",
        email,
        clock.now().getTime(),
      );
      const user = await userByEmail(db, email);
      if (user === undefined) return;
      mailLinkLater(
        defer,
        {
          userId: user.id,
          purpose: "password_reset",
          expiresAt: clock.now().getTime() + resetTtlMs,
        },
        (raw) => ({
          to: email,
          subject: "Reset your password",
          text: `Someone asked to reset the password of your account. If it was you, open this link within 30 minutes:\n\n${config.publicUrl}/reset-password#token=${raw}\n\nIf not, ignore this message.`,
        }),
      );
    },

    /**
     * Opening the mailed link proves control of the mailbox: the new password is set, every
     * credential anyone made with the old one is revoked, the other reset links die with this
     * one, and OAuth identities linked before the mailbox was proven are dropped.
     */
    async resetPassword(input: unknown): Promise<void> {
      const body = validate(resetPasswordInput, input);
      const config = await auth();
      const now = clock.now();
      // Check the password before spending the link, so a weak one does not cost the user the link.
      const holder = await peekOneTimeToken(db, body.token, "password_reset", now.getTime());
      const user = holder === undefined ? undefined : await userById(db, holder);
      if (user === undefined) throw badLink();
      const problem = passwordProblem(body.password, user.email);
      if (problem) throw weakPassword(problem);
      const passwordHash = await hashPassword(body.password, config.passwordHash);
      if ((await spendOneTimeToken(db, body.token, "password_reset", now.getTime())) !== user.id)
        throw badLink();
      const proven = await mailboxProvenStatements(db, user, now);
      await revokeAllCredentials(db, user.id, "password_reset", {
        now,
        log,
        also: [
          ...setPasswordHash(db, user.id, passwordHash, now),
          ...proven.statements,
          // Passkeys and a TOTP key set up before the mailbox was proven may be a squatter's.
          ...(proven.wasVerified ? [] : dropUnprovenFactorsStatements(db, user.id)),
        ],
      });
    },

    /**
     * Sets a new password for the signed-in account (or a first one for an account without):
     * needs a recent sign-in (STEP_UP_REQUIRED otherwise), so a stolen, refreshed session cannot
     * take the account over. The account's other sessions end; this one, its API keys and its
     * passkeys stay. Audited as auth.password_changed.
     */
    async changePassword(principal: Principal, input: unknown): Promise<void> {
      const me = requireUser(principal);
      const config = await auth();
      const now = clock.now();
      requireRecentAuth(principal, now.getTime(), config.stepUpMaxAgeSeconds);
      const body = validate(changePasswordInput, input);
      const user = await currentUser(db, principal);
      const problem = passwordProblem(body.password, user.email);
      if (problem) throw weakPassword(problem);
      const passwordHash = await hashPassword(body.password, config.passwordHash);
      await db.batch([
        ...setPasswordHash(db, me.id, passwordHash, now),
        db.run(
          auditSql(
            { action: "auth.password_changed", actor: `user:${me.id}`, subject: me.id },
            now.getTime(),
          ),
        ),
      ]);
      for (const session of await activeSessions(db, me.id, me.sessionId, now)) {
        if (session.id !== me.sessionId) await revokeSession(db, me.id, session.id, now);
      }
      log.write({
        level: "info",
        msg: "security: password changed",
        event: "password_changed",
        userId: me.id,
      });
    },

    /** Mails the signed-in user a confirmation link; "already verified" when there is nothing to do. */
    async requestEmailVerification(
      principal: Principal,
      defer: Defer,
    ): Promise<"sent" | "already verified"> {
      requireUser(principal);
      const config = await auth();
      const user = await currentUser(db, principal);
      if (user.emailVerifiedAt !== null) return "already verified";
      await throttleAccount(
        sql,
        config.forgotPerAccount,
        "verify-account",
        user.email,
        clock.now().getTime(),
      );
      mailLinkLater(
        defer,
        {
          userId: user.id,
          purpose: "email_verify",
          expiresAt: clock.now().getTime() + verifyTtlMs,
        },
        (raw) => ({
          to: user.email,
          subject: "Confirm your email address",
          text: `Confirm this address for your account by opening:\n\n${config.publicUrl}/verify-email#token=${raw}\n`,
        }),
      );
      return "sent";
    },

    /** Spends a confirmation link: the address is verified from now (see `mailboxProvenStatements`). */
    async confirmEmail(input: unknown): Promise<void> {
      const body = validate(confirmEmailInput, input);
      const now = clock.now();
      const userId = await spendOneTimeToken(db, body.token, "email_verify", now.getTime());
      const user = userId === undefined ? undefined : await userById(db, userId);
      if (user === undefined) throw badLink();
      const proven = await mailboxProvenStatements(db, user, now);
      if (proven.droppedIdentities > 0) {
        // An identity linked before the mailbox was proven is gone; so is all it could have made.
        await revokeAllCredentials(db, user.id, "identity_dropped", {
          now,
          log,
          also: proven.statements,
        });
      } else if (proven.statements.length > 0) {
        await db.batch(proven.statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
      }
    },
  };
}
