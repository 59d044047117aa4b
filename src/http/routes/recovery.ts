import { eq } from "drizzle-orm";
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AuthConfig } from "../../core/accounts/config";
import { emailSchema } from "../../core/accounts/identifiers";
import {
  issueOneTimeToken,
  peekOneTimeToken,
  spendOneTimeToken,
} from "../../core/accounts/one-time-tokens";
import { hashPassword, passwordProblem } from "../../core/accounts/passwords";
import { mailboxProvenStatements, revokeAllCredentials } from "../../core/accounts/revoke";
import { type oneTimeTokens, users } from "../../core/db/schema/auth";
import { randomToken } from "../../core/kernel/crypto";
import { ApiError } from "../../core/kernel/errors";
import { readJsonObject, validate } from "../body";
import type { AppEnv } from "../context";
import { noStore, requireUser, throttleAccount } from "./auth";

const email = emailSchema;
const token = z.string().min(20).max(200);
const resetTtlMs = 30 * 60_000;
const verifyTtlMs = 24 * 60 * 60_000;

const badLink = () =>
  new ApiError("BAD_REQUEST", "This link is invalid, expired or already used; ask for a new one.");

/**
 * Stores a single-use token and mails its link after the response is sent: the answer then takes
 * the same time whether or not there was an account to write to and mail (no timing oracle), and
 * a slow mail provider does not hold the request. A failure is logged without the message body.
 */
function mailLinkLater(
  c: Context<AppEnv>,
  row: Pick<typeof oneTimeTokens.$inferInsert, "userId" | "purpose" | "expiresAt">,
  message: (raw: string) => { to: string; subject: string; text: string },
  raw = randomToken(32),
) {
  const { db, mailer, log } = c.var.platform;
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
  c.var.platform.defer(c, work);
}

/**
 * Password reset and email verification: single-use tokens (32 random bytes, stored as
 * SHA-256), mailed as links, expiring after 30 minutes (reset) or 24 hours (verify). "Forgot"
 * answers 202 whether or not the account exists, so it reveals nothing.
 */
export function recoveryRoutes(auth: () => Promise<AuthConfig>) {
  const app = new Hono<AppEnv>();
  app.use(noStore);

  app.post("/password/forgot", async (c) => {
    const body = validate(z.object({ email }).strict(), await readJsonObject(c)) as {
      email: string;
    };
    const config = await auth();
    await throttleAccount(c, config.forgotPerAccount, "forgot-account", body.email);
    const { db, clock } = c.var.platform;
    const [user] = await db.select({ id: users.id }).from(users).where(eq(users.email, body.email));
    if (user !== undefined) {
      mailLinkLater(
        c,
        {
          userId: user.id,
          purpose: "password_reset",
          expiresAt: clock.now().getTime() + resetTtlMs,
        },
        (raw) => ({
          to: body.email,
          subject: "Reset your password",
          text: `Someone asked to reset the password of your account. If it was you, open this link within 30 minutes:\n\n${config.publicUrl}/reset-password#token=${raw}\n\nIf not, ignore this message.`,
        }),
      );
    }
    return c.json(
      { status: "If an account exists for this address, we sent it a reset link." },
      202,
    );
  });

  // Opening the mailed link proves control of the mailbox: the new password is set, every
  // credential anyone made with the old one is revoked, the other reset links die with this one,
  // and OAuth identities linked before the mailbox was proven are dropped.
  app.post("/password/reset", async (c) => {
    const body = validate(
      z.object({ token, password: z.string().max(1024) }).strict(),
      await readJsonObject(c),
    ) as { token: string; password: string };
    const config = await auth();
    const { db, clock, log } = c.var.platform;
    const now = clock.now();
    // Check the password before spending the link, so a weak one does not cost the user the link.
    const holder = await peekOneTimeToken(db, body.token, "password_reset", now.getTime());
    const [user] =
      holder === undefined ? [] : await db.select().from(users).where(eq(users.id, holder));
    if (user === undefined) throw badLink();
    const problem = passwordProblem(body.password, user.email);
    if (problem)
      throw new ApiError("VALIDATION_FAILED", `Password ${problem}.`, {
        errors: [{ path: "/password", message: problem }],
      });
    const passwordHash = await hashPassword(body.password, config.passwordIterations);
    if ((await spendOneTimeToken(db, body.token, "password_reset", now.getTime())) !== user.id)
      throw badLink();
    const proven = await mailboxProvenStatements(db, user, now);
    await revokeAllCredentials(db, user.id, "password_reset", {
      now,
      log,
      also: [
        db
          .update(users)
          .set({ passwordHash, updated: now.toISOString() })
          .where(eq(users.id, user.id)),
        ...proven.statements,
      ],
    });
    return c.body(null, 204);
  });

  app.post("/email/verify/request", async (c) => {
    const me = requireUser(c);
    const config = await auth();
    const { db, clock } = c.var.platform;
    const [user] = await db.select().from(users).where(eq(users.id, me.id));
    if (user === undefined) throw new ApiError("UNAUTHENTICATED", "This account no longer exists.");
    if (user.emailVerifiedAt !== null) return c.json({ status: "already verified" });
    await throttleAccount(c, config.forgotPerAccount, "verify-account", user.email);
    mailLinkLater(
      c,
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
    return c.json({ status: "sent" }, 202);
  });

  app.post("/email/verify/confirm", async (c) => {
    const body = validate(z.object({ token }).strict(), await readJsonObject(c)) as {
      token: string;
    };
    const { db, clock, log } = c.var.platform;
    const now = clock.now();
    const userId = await spendOneTimeToken(db, body.token, "email_verify", now.getTime());
    const [user] =
      userId === undefined ? [] : await db.select().from(users).where(eq(users.id, userId));
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
      await db.batch(proven.statements as [(typeof proven.statements)[number]]);
    }
    return c.body(null, 204);
  });

  return app;
}
