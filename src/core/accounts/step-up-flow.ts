import { and, eq, gt, isNull } from "drizzle-orm";
import { sessions } from "../db/schema/auth";
import { ApiError } from "../kernel/errors";
import type { Principal } from "../kernel/principal";
import { validate } from "../kernel/validate";
import { writeAudit } from "../privacy/audit";
import type { AccountDeps } from "./deps";
import { rejectedCredential } from "./failures";
import { hasTotp } from "./mfa";
import { passkeyOperations } from "./passkeys";
import { passwordLimits, verifyPassword } from "./passwords";
import { accessTokenFor } from "./sessions";
import { stepUpInput } from "./strong-schemas";
import { throttleAccount } from "./throttle";
import { totpOperations } from "./totp";
import { currentUser, requireUser, userById } from "./users";

/**
 * Step-up: a signed-in session proves the person again and gets a new access token for the same
 * session with a fresh `auth_time` (what `requireRecentAuth` reads). The proof must be as strong
 * as a sign-in of that account: an authenticator code or a passkey (`passkeyStepUp` in
 * passkeys.ts verifies the assertion); the password only for accounts without two-factor sign-in
 * (with it, a stolen session plus a phished password must not be enough). Codes and passwords are
 * throttled per account like sign-in. Signing in again does the same with a new session.
 */
export function stepUpOperations(deps: AccountDeps) {
  const { db, sql, clock, log, auth } = deps;
  const totp = totpOperations(deps);
  const passkeys = passkeyOperations(deps);

  /** A fresh access token for the caller's (live) session, and the step-up in the audit log. */
  async function freshToken(principal: Principal, method: "totp" | "password" | "passkey") {
    const me = requireUser(principal);
    const now = clock.now();
    const config = await auth();
    const [live] =
      me.sessionId === undefined
        ? []
        : await db
            .select({ id: sessions.id })
            .from(sessions)
            .where(
              and(
                eq(sessions.id, me.sessionId),
                eq(sessions.userId, me.id),
                isNull(sessions.revokedAt),
                gt(sessions.expiresAt, now.getTime()),
              ),
            );
    const user = await userById(db, me.id);
    if (live === undefined || user === undefined)
      throw rejectedCredential("This session has ended; sign in again.");
    await writeAudit(
      sql,
      {
        action: "auth.step_up",
        actor: `user:${me.id}`,
        subject: me.id,
        target: live.id,
        details: { method },
      },
      now.getTime(),
    );
    return {
      accessToken: await accessTokenFor(config, user, live.id, Math.floor(now.getTime() / 1000)),
      tokenType: "Bearer" as const,
      expiresIn: config.accessTokenTtlSeconds,
    };
  }

  return {
    /** Step-up with an authenticator code, or the password for accounts without a second factor. */
    async stepUp(principal: Principal, input: unknown) {
      const me = requireUser(principal);
      const body = validate(stepUpInput, input);
      if (body.code !== undefined) {
        if (!(await totp.checkTotp(me.id, body.code)))
          throw rejectedCredential("The code is wrong or already used.");
      } else {
        const config = await auth();
        await throttleAccount(
          sql,
          config.loginPerAccountTotal,
          "step-up-account",
          me.id,
          clock.now().getTime(),
        );
        if (await hasTotp(db, me.id))
          throw new ApiError(
            "VALIDATION_FAILED",
            "This account has two-factor sign-in: step up with an authenticator code or a passkey.",
            { errors: [{ path: "/code", message: "required for this account" }] },
          );
        const user = await currentUser(db, principal);
        const check = await verifyPassword(
          (body.password ?? "").slice(0, passwordLimits.max * 4),
          user.passwordHash,
          config.passwordHash,
        );
        if (!check.ok) throw rejectedCredential("Wrong password.");
      }
      log.write({
        level: "info",
        msg: "security: stepped up",
        event: "step_up",
        method: body.code !== undefined ? "totp" : "password",
        userId: me.id,
      });
      return freshToken(principal, body.code !== undefined ? "totp" : "password");
    },

    /** Request options for a passkey step-up, bound to this session. */
    stepUpPasskeyOptions: (principal: Principal) => passkeys.passkeyStepUpOptions(principal),

    /** Step-up with a passkey assertion of the caller's account. */
    async stepUpWithPasskey(principal: Principal, input: unknown) {
      await passkeys.passkeyStepUp(principal, input);
      log.write({
        level: "info",
        msg: "security: stepped up",
        event: "step_up",
        method: "passkey",
        userId: requireUser(principal).id,
      });
      return freshToken(principal, "passkey");
    },
  };
}
