import { and, eq, gt, isNull } from "drizzle-orm";
import { sessions } from "../db/schema/auth";
import type { Principal } from "../kernel/principal";
import { validate } from "../kernel/validate";
import type { AccountDeps } from "./deps";
import { rejectedCredential } from "./failures";
import { passkeyOperations } from "./passkeys";
import { accessTokenFor } from "./sessions";
import { stepUpInput } from "./strong-schemas";
import { totpOperations } from "./totp";
import { requireUser, userById } from "./users";

/**
 * Step-up: a signed-in session proves the person again — with a TOTP code, or a passkey
 * (`passkeyStepUp` in passkeys.ts verifies the assertion) — and gets a new access token for the
 * same session with a fresh `auth_time`. Signing in again does the same with a new session.
 */
export function stepUpOperations(deps: AccountDeps) {
  const { db, clock, auth } = deps;
  const totp = totpOperations(deps);
  const passkeys = passkeyOperations(deps);

  /** A fresh access token for the caller's (live) session. */
  async function freshToken(principal: Principal) {
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
    return {
      accessToken: await accessTokenFor(config, user, live.id, Math.floor(now.getTime() / 1000)),
      tokenType: "Bearer" as const,
      expiresIn: config.accessTokenTtlSeconds,
    };
  }

  return {
    /** Step-up with an authenticator code (accounts with two-factor sign-in). */
    async stepUp(principal: Principal, input: unknown) {
      const me = requireUser(principal);
      const { code } = validate(stepUpInput, input);
      if (!(await totp.checkTotp(me.id, code)))
        throw rejectedCredential("The code is wrong or already used.");
      return freshToken(principal);
    },

    /** Request options for a passkey step-up, bound to this session. */
    stepUpPasskeyOptions: (principal: Principal) => passkeys.passkeyStepUpOptions(principal),

    /** Step-up with a passkey assertion of the caller's account. */
    async stepUpWithPasskey(principal: Principal, input: unknown) {
      await passkeys.passkeyStepUp(principal, input);
      return freshToken(principal);
    },
  };
}
