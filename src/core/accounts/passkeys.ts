import { and, eq, gt } from "drizzle-orm";
import type { Database } from "../db/client";
import { oauthAccounts } from "../db/schema/auth";
import { passkeys, webauthnChallenges } from "../db/schema/strong-auth";
import { randomId, randomToken, sha256 } from "../kernel/crypto";
import { ApiError } from "../kernel/errors";
import type { Principal } from "../kernel/principal";
import { validate } from "../kernel/validate";
import { type AuditEntry, auditSql } from "../privacy/audit";
import type { AccountDeps, Caller } from "./deps";
import { rejectedCredential } from "./failures";
import { finishSignIn } from "./mfa";
import type { SignedIn } from "./schemas";
import { startSession } from "./sessions";
import { requireRecentAuth } from "./step-up";
import {
  assertionResponseInput,
  type MfaRequired,
  type PasskeyView,
  passkeyNameInput,
  passkeyRegisterOptionsInput,
  passkeySignInOptionsInput,
  passkeySignUpOptionsInput,
  registrationResponseInput,
} from "./strong-schemas";
import { createUser, currentUser, publicUser, requireUser, userByEmail, userById } from "./users";
import {
  assertionChallenge,
  type NewCredential,
  registrationChallenge,
  supportedAlgorithms,
  userHandle,
  verifyAssertion,
  verifyRegistration,
  WebAuthnError,
} from "./webauthn";

/** How long a ceremony may take between its options and its answer. */
export const challengeTtlMs = 5 * 60_000;
/** Passkeys one account may hold. */
export const maxPasskeysPerUser = 20;

type Purpose = (typeof webauthnChallenges.$inferSelect)["purpose"];
type PasskeyRow = typeof passkeys.$inferSelect;

/** An audit entry about a passkey of the signed-in account (the credential's id, never its key). */
const passkeyAudit = (
  action: AuditEntry["action"],
  userId: string,
  passkeyId: string,
  details?: AuditEntry["details"],
): AuditEntry => ({
  action,
  actor: `user:${userId}`,
  subject: userId,
  target: passkeyId,
  ...(details ? { details } : {}),
});

const notVerified = () => rejectedCredential("The passkey could not be verified; try again.");

function view(row: PasskeyRow): PasskeyView {
  return {
    id: row.id,
    name: row.name,
    created: row.created,
    lastUsed: row.lastUsed,
    backupEligible: row.backupEligible,
    backupState: row.backupState,
    transports: row.transports,
  };
}

/** Stores a fresh single-use challenge bound to who asked; returns it (base64url). */
async function issueChallenge(
  db: Database,
  row: { purpose: Purpose; userId?: string; sessionId?: string; data?: object },
  now: number,
): Promise<string> {
  const challenge = randomToken(32);
  await db.insert(webauthnChallenges).values({
    hash: await sha256(challenge),
    purpose: row.purpose,
    userId: row.userId ?? null,
    sessionId: row.sessionId ?? null,
    data: JSON.stringify(row.data ?? {}),
    expiresAt: now + challengeTtlMs,
  });
  return challenge;
}

/**
 * Spends a challenge: deleted in the statement that finds it, so it works once even under
 * concurrent answers; undefined when unknown, of another ceremony, or expired.
 */
export async function spendChallenge(
  db: Database,
  challenge: string,
  purpose: Purpose,
  now: number,
) {
  const [row] = await db
    .delete(webauthnChallenges)
    .where(
      and(
        eq(webauthnChallenges.hash, await sha256(challenge)),
        eq(webauthnChallenges.purpose, purpose),
        gt(webauthnChallenges.expiresAt, now),
      ),
    )
    .returning();
  return row;
}

/**
 * Passkeys (WebAuthn Level 3; see webauthn.ts for the checks): register one for a signed-in
 * account, sign up without a password, sign in with a discoverable credential (conditional UI)
 * or by email, list, rename and remove. Challenges are single use, live 5 minutes and are bound
 * to who asked: the account and session registering, the account signing in by email, the
 * address a sign-up is for. A user-verified passkey is two factors in one, so passkey sign-in
 * skips TOTP (unless PASSKEY_SATISFIES_MFA=false). Adding or removing a passkey needs a recent
 * sign-in (step-up). Any refusal is the same 401 (a rejected credential); the reason is logged.
 */
export function passkeyOperations(deps: AccountDeps) {
  const { db, clock, log, auth, relyingParty: rp } = deps;

  /** Logs why a ceremony failed and answers with the one refusal. */
  function refuse(err: unknown, ceremony: string, userId?: string): never {
    if (err instanceof ApiError) throw err;
    if (!(err instanceof WebAuthnError)) throw err;
    log.write({
      level: "warn",
      msg: "security: passkey ceremony refused",
      event: "passkey_refused",
      ceremony,
      reason: err.reason,
      ...(userId ? { userId } : {}),
    });
    throw notVerified();
  }

  function creationOptions(
    challenge: string,
    user: { id: string; email: string; name: string },
    exclude: PasskeyRow[],
  ) {
    return {
      rp: { id: rp.id, name: rp.name },
      user: { id: userHandle(user.id), name: user.email, displayName: user.name || user.email },
      challenge,
      pubKeyCredParams: supportedAlgorithms.map((alg) => ({ type: "public-key", alg })),
      timeout: challengeTtlMs,
      attestation: "none",
      excludeCredentials: exclude.map((p) => ({
        type: "public-key",
        id: p.credentialId,
        transports: p.transports,
      })),
      authenticatorSelection: {
        residentKey: "required",
        requireResidentKey: true,
        userVerification: "required",
      },
      hints: [],
      extensions: { credProps: true },
    };
  }

  /** The registration's checks after its challenge: verified, new, under the cap. */
  async function registered(input: unknown, purpose: Purpose, ceremony: string) {
    const body = validate(registrationResponseInput, input);
    const now = clock.now();
    let challenge: string;
    try {
      challenge = registrationChallenge(body.response.clientDataJSON, rp);
    } catch (err) {
      refuse(err, ceremony);
    }
    const spent = await spendChallenge(db, challenge, purpose, now.getTime());
    if (spent === undefined)
      refuse(new WebAuthnError("unknown, used or expired challenge"), ceremony);
    let credential: NewCredential;
    try {
      credential = verifyRegistration(
        { rawId: body.rawId, attestationObject: body.response.attestationObject },
        rp,
      );
    } catch (err) {
      refuse(err, ceremony, spent.userId ?? undefined);
    }
    const transports = (body.response.transports ?? []).filter((t) => /^[a-z-]{1,32}$/.test(t));
    return { spent, credential, transports, now };
  }

  function insertPasskey(
    userId: string,
    name: string,
    credential: NewCredential,
    transports: string[],
    now: Date,
  ) {
    const row: PasskeyRow = {
      id: randomId("psk"),
      credentialId: credential.credentialId,
      userId,
      name,
      publicKey: JSON.stringify(credential.publicKey),
      algorithm: credential.algorithm,
      signCount: credential.signCount,
      backupEligible: credential.backupEligible,
      backupState: credential.backupState,
      transports,
      aaguid: credential.aaguid,
      created: now.toISOString(),
      lastUsed: null,
    };
    return { row, insert: db.insert(passkeys).values(row) };
  }

  const alreadyRegistered = () =>
    new ApiError("CONFLICT", "This passkey is already registered.", {
      errors: [{ path: "/rawId", message: "already registered" }],
    });

  async function passkeysOf(userId: string) {
    return db.select().from(passkeys).where(eq(passkeys.userId, userId));
  }

  /** Verifies an assertion for `purpose`; returns the passkey's owner after updating its counter. */
  async function asserted(
    input: unknown,
    purpose: Purpose,
    ceremony: string,
    bound?: { userId: string; sessionId?: string | undefined },
  ) {
    const body = validate(assertionResponseInput, input);
    const now = clock.now();
    let challenge: string;
    try {
      challenge = assertionChallenge(body.response.clientDataJSON, rp);
    } catch (err) {
      refuse(err, ceremony);
    }
    const spent = await spendChallenge(db, challenge, purpose, now.getTime());
    if (spent === undefined)
      refuse(new WebAuthnError("unknown, used or expired challenge"), ceremony);
    if (
      bound !== undefined &&
      (spent.userId !== bound.userId || (spent.sessionId ?? undefined) !== bound.sessionId)
    )
      refuse(new WebAuthnError("challenge asked for by someone else"), ceremony, bound.userId);
    const [stored] = await db.select().from(passkeys).where(eq(passkeys.credentialId, body.rawId));
    if (stored === undefined) refuse(new WebAuthnError("unknown credential"), ceremony);
    // Signing in by email (or stepping up) takes only that account's passkeys.
    if (spent.userId !== null && spent.userId !== stored.userId)
      refuse(new WebAuthnError("credential of another account"), ceremony, stored.userId);
    const handle = body.response.userHandle;
    if (handle !== undefined && handle !== null && handle !== userHandle(stored.userId))
      refuse(
        new WebAuthnError("user handle does not match the credential"),
        ceremony,
        stored.userId,
      );
    try {
      const verified = await verifyAssertion(
        body.response,
        {
          publicKey: JSON.parse(stored.publicKey) as JsonWebKey,
          algorithm: stored.algorithm,
          signCount: stored.signCount,
        },
        rp,
      );
      // The counter moves only from the value just checked: of two concurrent uses, one wins.
      const updated = await db
        .update(passkeys)
        .set({
          signCount: verified.signCount,
          backupState: verified.backupState,
          lastUsed: now.toISOString(),
        })
        .where(and(eq(passkeys.id, stored.id), eq(passkeys.signCount, stored.signCount)))
        .returning({ id: passkeys.id });
      if (updated.length === 0) throw new WebAuthnError("concurrent use of one credential");
    } catch (err) {
      refuse(err, ceremony, stored.userId);
    }
    return { userId: stored.userId, now };
  }

  return {
    /** Creation options for a signed-in account's new passkey (bound to this session). */
    async passkeyRegisterOptions(principal: Principal, input: unknown) {
      const me = requireUser(principal);
      // A new passkey is a new way in (past TOTP, by default): a stolen, refreshed session may not add one.
      requireRecentAuth(principal, clock.now().getTime(), (await auth()).stepUpMaxAgeSeconds);
      const body = validate(passkeyRegisterOptionsInput, input);
      const user = await currentUser(db, principal);
      const existing = await passkeysOf(me.id);
      if (existing.length >= maxPasskeysPerUser)
        throw new ApiError(
          "CONFLICT",
          `An account holds at most ${maxPasskeysPerUser} passkeys; remove one first.`,
        );
      const challenge = await issueChallenge(
        db,
        {
          purpose: "register",
          userId: me.id,
          sessionId: me.sessionId,
          data: { name: body.name ?? "" },
        },
        clock.now().getTime(),
      );
      return creationOptions(challenge, user, existing);
    },

    /** Verifies and stores a signed-in account's new passkey. */
    async passkeyRegister(principal: Principal, input: unknown): Promise<PasskeyView> {
      const me = requireUser(principal);
      const { spent, credential, transports, now } = await registered(
        input,
        "register",
        "register",
      );
      if (spent.userId !== me.id || (spent.sessionId ?? undefined) !== me.sessionId)
        refuse(new WebAuthnError("challenge asked for by someone else"), "register", me.id);
      const name = (JSON.parse(spent.data) as { name?: string }).name || "Passkey";
      const { row, insert } = insertPasskey(me.id, name, credential, transports, now);
      try {
        await db.batch([
          insert,
          db.run(auditSql(passkeyAudit("auth.passkey_added", me.id, row.id), now.getTime())),
        ]);
      } catch {
        throw alreadyRegistered();
      }
      return view(row);
    },

    /** Creation options for a new account without a password; 409 for a registered address. */
    async passkeySignUpOptions(input: unknown) {
      const body = validate(passkeySignUpOptionsInput, input);
      if ((await userByEmail(db, body.email)) !== undefined) {
        throw new ApiError(
          "CONFLICT",
          "An account with this email already exists; sign in, then add a passkey.",
          { errors: [{ path: "/email", message: "already registered" }] },
        );
      }
      const user = { id: randomId("usr"), email: body.email, name: body.name ?? "" };
      const challenge = await issueChallenge(
        db,
        { purpose: "sign_up", data: user },
        clock.now().getTime(),
      );
      return creationOptions(challenge, user, []);
    },

    /** Creates the account the sign-up options were for, with its passkey, and signs it in. */
    async passkeySignUp(input: unknown, caller: Caller): Promise<SignedIn> {
      const { spent, credential, transports, now } = await registered(input, "sign_up", "sign_up");
      const pending = JSON.parse(spent.data) as { id: string; email: string; name: string };
      const config = await auth();
      let user: Awaited<ReturnType<typeof createUser>>;
      try {
        user = await createUser(
          db,
          { id: pending.id, email: pending.email, name: pending.name },
          now,
          (u) => {
            const { row, insert } = insertPasskey(u.id, "Passkey", credential, transports, now);
            const entry = passkeyAudit("auth.passkey_added", u.id, row.id, { signUp: true });
            return [insert, db.run(auditSql(entry, now.getTime()))];
          },
        );
      } catch {
        // The address was taken meanwhile, or the passkey is already registered.
        throw new ApiError("CONFLICT", "An account with this email or passkey already exists.");
      }
      const pair = await startSession(db, config, user!, caller.userAgent, now);
      return { user: publicUser(user!), ...pair };
    },

    /**
     * Request options: without an email, for a discoverable credential (conditional UI, the
     * browser's passkey picker); with one, listing that account's passkeys.
     */
    async passkeySignInOptions(input: unknown) {
      const body = validate(passkeySignInOptionsInput, input);
      const user = body.email === undefined ? undefined : await userByEmail(db, body.email);
      const allow = user === undefined ? [] : await passkeysOf(user.id);
      const challenge = await issueChallenge(
        db,
        { purpose: "sign_in", ...(user ? { userId: user.id } : {}) },
        clock.now().getTime(),
      );
      return {
        challenge,
        rpId: rp.id,
        timeout: challengeTtlMs,
        userVerification: "required",
        allowCredentials: allow.map((p) => ({
          type: "public-key",
          id: p.credentialId,
          transports: p.transports,
        })),
        hints: [],
      };
    },

    /**
     * Signs in with a passkey assertion: tokens, as a password sign-in gives them — or, with
     * PASSKEY_SATISFIES_MFA=false and TOTP on, a ticket for the code.
     */
    async passkeySignIn(input: unknown, caller: Caller): Promise<SignedIn | MfaRequired> {
      const { userId, now } = await asserted(input, "sign_in", "sign_in");
      const user = await userById(db, userId);
      if (user === undefined) throw notVerified();
      const config = await auth();
      if (!config.passkeySatisfiesMfa)
        return finishSignIn(db, config, user, caller, now, "passkey");
      const pair = await startSession(db, config, user, caller.userAgent, now);
      return { user: publicUser(user), ...pair };
    },

    /** Request options to prove a signed-in session again with a passkey (step-up). */
    async passkeyStepUpOptions(principal: Principal) {
      const me = requireUser(principal);
      const allow = await passkeysOf(me.id);
      const challenge = await issueChallenge(
        db,
        { purpose: "step_up", userId: me.id, sessionId: me.sessionId },
        clock.now().getTime(),
      );
      return {
        challenge,
        rpId: rp.id,
        timeout: challengeTtlMs,
        userVerification: "required",
        allowCredentials: allow.map((p) => ({
          type: "public-key",
          id: p.credentialId,
          transports: p.transports,
        })),
      };
    },

    /** Verifies a step-up assertion of this session's account; the caller then gets a fresh token. */
    async passkeyStepUp(principal: Principal, input: unknown): Promise<void> {
      const me = requireUser(principal);
      await asserted(input, "step_up", "step_up", { userId: me.id, sessionId: me.sessionId });
    },

    async listPasskeys(principal: Principal): Promise<PasskeyView[]> {
      const me = requireUser(principal);
      return (await passkeysOf(me.id)).map(view);
    },

    async renamePasskey(principal: Principal, id: string, input: unknown): Promise<PasskeyView> {
      const me = requireUser(principal);
      const { name } = validate(passkeyNameInput, input);
      const [row] = await db
        .update(passkeys)
        .set({ name })
        .where(and(eq(passkeys.id, id), eq(passkeys.userId, me.id)))
        .returning();
      if (row === undefined) throw new ApiError("NOT_FOUND", "No such passkey.");
      return view(row);
    },

    /**
     * Removes a passkey, unless it is the account's last way to sign in (no password, no other
     * passkey, no linked provider): 409 then — add another method first.
     */
    async removePasskey(principal: Principal, id: string): Promise<void> {
      const me = requireUser(principal);
      requireRecentAuth(principal, clock.now().getTime(), (await auth()).stepUpMaxAgeSeconds);
      const user = await currentUser(db, principal);
      const mine = await passkeysOf(me.id);
      if (!mine.some((p) => p.id === id)) throw new ApiError("NOT_FOUND", "No such passkey.");
      const identities = await db
        .select({ provider: oauthAccounts.provider })
        .from(oauthAccounts)
        .where(eq(oauthAccounts.userId, me.id));
      if (user.passwordHash === null && mine.length === 1 && identities.length === 0) {
        throw new ApiError(
          "CONFLICT",
          "This passkey is the account's last way to sign in; set a password or add another passkey first.",
        );
      }
      await db.batch([
        db.delete(passkeys).where(and(eq(passkeys.id, id), eq(passkeys.userId, me.id))),
        db.run(
          auditSql(passkeyAudit("auth.passkey_removed", me.id, id), clock.now().getTime(), true),
        ),
      ]);
    },
  };
}
