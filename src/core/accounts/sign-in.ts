import { ApiError } from "../kernel/errors";
import type { Principal } from "../kernel/principal";
import { validate } from "../kernel/validate";
import { writeAudit } from "../privacy/audit";
import type { AccountDeps, Caller } from "./deps";
import { rejectedCredential } from "./failures";
import { finishSignIn } from "./mfa";
import { hashPassword, passwordLimits, passwordProblem, verifyPassword } from "./passwords";
import { revokeAllCredentials } from "./revoke";
import { loginInput, refreshInput, type SignedIn, signupInput, type TokenPair } from "./schemas";
import { activeSessions, revokeSession, rotate, startSession } from "./sessions";
import type { MfaRequired } from "./strong-schemas";
import { throttleAccount } from "./throttle";
import {
  createUser,
  currentUser,
  publicUser,
  requireUser,
  setPasswordHash,
  userByEmail,
} from "./users";

/** A refused new password, reported at /password. */
export function weakPassword(message: string): ApiError {
  return new ApiError("VALIDATION_FAILED", `Password ${message}.`, {
    errors: [{ path: "/password", message }],
  });
}

/**
 * Sign-up, log-in, refresh rotation, log-out and the signed-in user's sessions. Duplicate sign-up
 * answers 409: sign-up returns tokens, so it cannot hide that an account exists; per-IP limits
 * slow enumeration, and the recovery flows reveal nothing.
 */
export function signInOperations({ db, sql, clock, log, auth }: AccountDeps) {
  return {
    /** Creates an account with a password and signs it in. */
    async signup(input: unknown, caller: Caller): Promise<SignedIn> {
      const body = validate(signupInput, input);
      const problem = passwordProblem(body.password, body.email);
      if (problem) throw weakPassword(problem);
      const config = await auth();
      const now = clock.now();
      const passwordHash = await hashPassword(body.password, config.passwordHash);
      const user = await createUser(db, { email: body.email, name: body.name, passwordHash }, now);
      if (user === undefined) {
        throw new ApiError(
          "CONFLICT",
          "An account with this email already exists; sign in or reset the password.",
          { errors: [{ path: "/email", message: "already registered" }] },
        );
      }
      const pair = await startSession(db, config, user, caller.userAgent, now);
      return { user: publicUser(user), ...pair };
    },

    /**
     * Checks email and password and starts a session. Throttled per account AND address first, so
     * one attacker cannot lock the owner out; the looser per-account ceiling bounds a distributed
     * guess (and can be exhausted by one: see README). A wrong password is a rejected credential.
     */
    async login(input: unknown, caller: Caller): Promise<SignedIn | MfaRequired> {
      const body = validate(loginInput, input);
      const config = await auth();
      const at = clock.now().getTime();
      const account = body.email;
      await throttleAccount(
        sql,
        config.loginPerAccount,
        "login-account-ip",
        `${account}|${caller.ip}`,
        at,
      );
      await throttleAccount(sql, config.loginPerAccountTotal, "login-account", account, at);
      const user = await userByEmail(db, body.email);
      // The same work whether or not the account exists (a dummy hash is verified).
      const check = await verifyPassword(
        body.password.slice(0, passwordLimits.max * 4),
        user?.passwordHash,
        config.passwordHash,
      );
      if (user === undefined || !check.ok) {
        await writeAudit(
          sql,
          {
            action: "auth.sign_in_failed",
            actor: "anonymous",
            subject: user?.id,
            outcome: "failed",
            details: { method: "password", reason: user ? "wrong_password" : "unknown_account" },
          },
          at,
        );
        throw rejectedCredential("Wrong email or password.");
      }
      const now = clock.now();
      if (check.rehash) {
        const hash = await hashPassword(body.password, config.passwordHash);
        await db.batch(setPasswordHash(db, user.id, hash, now, { rehash: true }));
      }
      // Tokens, or a ticket for the second factor when the account has two-factor sign-in.
      return finishSignIn(db, config, user, caller, now, "password");
    },

    /** Rotates a refresh token (see `rotate`); any refusal is a rejected credential. */
    async refresh(input: unknown): Promise<TokenPair> {
      const body = validate(refreshInput, input);
      const outcome = await rotate(db, await auth(), body.refreshToken, clock.now(), log);
      if (!outcome.ok)
        throw rejectedCredential(
          "The refresh token is invalid, expired or revoked; sign in again.",
        );
      return outcome.pair;
    },

    /** Ends the session the caller's access token belongs to. */
    async logout(principal: Principal): Promise<void> {
      const me = requireUser(principal);
      if (me.sessionId !== undefined) await revokeSession(db, me.id, me.sessionId, clock.now());
    },

    /** Sign out everywhere: every session (refresh family), API key and pending sign-in code. */
    async logoutAll(principal: Principal): Promise<void> {
      const me = requireUser(principal);
      await revokeAllCredentials(db, me.id, "logout_all", { now: clock.now(), log });
    },

    async me(principal: Principal) {
      return publicUser(await currentUser(db, principal));
    },

    async listSessions(principal: Principal) {
      const me = requireUser(principal);
      return activeSessions(db, me.id, me.sessionId, clock.now());
    },

    async revokeSession(principal: Principal, sessionId: string): Promise<void> {
      const me = requireUser(principal);
      if (!(await revokeSession(db, me.id, sessionId, clock.now())))
        throw new ApiError("NOT_FOUND", "No such session.");
    },
  };
}
