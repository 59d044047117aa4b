import { createTOTPKeyURI, generateHOTP } from "@oslojs/otp";
import { and, count, eq, isNotNull, isNull, lt } from "drizzle-orm";
import { recoveryCodes, totpCredentials } from "../db/schema/strong-auth";
import { base64url, constantTimeEqual, fromBase64url, sha256 } from "../kernel/crypto";
import { ApiError } from "../kernel/errors";
import type { Principal } from "../kernel/principal";
import { loadSealer, SealError, type Sealer } from "../kernel/seal";
import { validate } from "../kernel/validate";
import { type AuditEntry, auditSql, writeAudit } from "../privacy/audit";
import type { AccountDeps, Caller } from "./deps";
import { rejectedCredential } from "./failures";
import { attemptMfaTicket, spendMfaTicket } from "./mfa";
import type { SignedIn } from "./schemas";
import { startSession } from "./sessions";
import { requireRecentAuth } from "./step-up";
import { mfaCodeInput, mfaVerifyInput, totpCodeInput } from "./strong-schemas";
import { throttleAccount } from "./throttle";
import { currentUser, publicUser, requireUser, userById } from "./users";

/** RFC 6238 defaults every authenticator app implements: SHA-1, 30 s, 6 digits. */
const period = 30;
const digits = 6;
/** Time steps accepted either side of now (clock drift). */
const drift = 1;
/** Recovery codes made at a time. */
export const recoveryCodeCount = 10;

const utf8 = new TextEncoder();
const alphabet = "abcdefghjkmnpqrstuvwxyz23456789";

/** A recovery code: 10 characters from a 31-letter alphabet (~50 bits), shown as `xxxxx-xxxxx`. */
function newRecoveryCode(): string {
  let out = "";
  while (out.length < 10) {
    for (const b of crypto.getRandomValues(new Uint8Array(16))) {
      if (b < 248 && out.length < 10) out += alphabet[b % 31];
    }
  }
  return `${out.slice(0, 5)}-${out.slice(5)}`;
}

const recoveryHash = (code: string) => sha256(code.toLowerCase().replace(/[^a-z0-9]/g, ""));

/** The sealing context of an account's TOTP key: a key moved to another account fails to open. */
const sealContext = (userId: string) => `nb_totp/${userId}/secret`;

/**
 * Which time step a code belongs to, among now ± `drift`, or undefined. Every candidate is
 * computed and compared in constant time.
 */
export function matchingStep(key: Uint8Array, code: string, nowMs: number): number | undefined {
  const current = Math.floor(nowMs / 1000 / period);
  let found: number | undefined;
  for (let step = current - drift; step <= current + drift; step++) {
    const expected = generateHOTP(key, BigInt(step), digits);
    if (constantTimeEqual(utf8.encode(expected), utf8.encode(code)) && found === undefined)
      found = step;
  }
  return found;
}

const wrongCode = () => rejectedCredential("The code is wrong or already used.");

/**
 * TOTP two-factor sign-in (RFC 6238 with @oslojs/otp): enrol (a 160-bit key shown once as an
 * `otpauth://` URI), confirm with a first code (which turns it on and answers 10 recovery codes),
 * then every password or mailed-code sign-in ends in `mfa_required` with a ticket, spent with a
 * code at `verifyMfa`. A code is accepted once: the last accepted time step is stored and only a
 * later one passes (in one conditional UPDATE, so two concurrent uses cannot both pass). Checks
 * are throttled per account (LOGIN_LIMIT_PER_ACCOUNT_TOTAL) and wrong codes count against the
 * address. Keys are sealed at rest with the one encryption primitive (kernel/seal.ts,
 * DATA_ENCRYPTION_KEYS); recovery codes are stored as SHA-256, single use, replaced as a set.
 */
export function totpOperations(deps: AccountDeps) {
  const { db, sql, clock, log, auth, relyingParty } = deps;
  const sealer = () => loadSealer(deps.secrets);

  async function requireSealer(): Promise<Sealer> {
    const s = await sealer().catch(() => undefined);
    if (s === undefined)
      throw new ApiError(
        "CONFIG_INVALID",
        "Two-factor sign-in needs DATA_ENCRYPTION_KEYS on this server; see its logs.",
      );
    return s;
  }

  async function keyOf(userId: string, enabled: boolean) {
    const [row] = await db
      .select()
      .from(totpCredentials)
      .where(
        and(
          eq(totpCredentials.userId, userId),
          enabled ? isNotNull(totpCredentials.enabledAt) : isNull(totpCredentials.enabledAt),
        ),
      );
    if (row === undefined) return undefined;
    try {
      const secret = await (await requireSealer()).open(row.secret, sealContext(userId));
      return { row, key: fromBase64url(secret) };
    } catch (err) {
      if (!(err instanceof SealError)) throw err;
      log.write({ level: "error", msg: "TOTP key does not open", userId, reason: err.reason });
      throw new ApiError("CONFIG_INVALID", "Two-factor sign-in is misconfigured; see the logs.");
    }
  }

  async function throttle(userId: string) {
    const config = await auth();
    await throttleAccount(
      sql,
      config.loginPerAccountTotal,
      "mfa-account",
      userId,
      clock.now().getTime(),
    );
  }

  /** Checks a TOTP code of the enabled key and records its step (replay refused). */
  async function acceptTotp(userId: string, code: string): Promise<boolean> {
    const found = await keyOf(userId, true);
    if (found === undefined) return false;
    const step = matchingStep(found.key, code, clock.now().getTime());
    if (step === undefined || step <= found.row.lastStep) return false;
    const moved = await db
      .update(totpCredentials)
      .set({ lastStep: step })
      .where(and(eq(totpCredentials.userId, userId), lt(totpCredentials.lastStep, step)))
      .returning({ userId: totpCredentials.userId });
    return moved.length > 0;
  }

  /** Spends one of the account's recovery codes. */
  async function acceptRecoveryCode(userId: string, code: string): Promise<boolean> {
    const spent = await db
      .update(recoveryCodes)
      .set({ usedAt: clock.now().getTime() })
      .where(
        and(
          eq(recoveryCodes.hash, await recoveryHash(code)),
          eq(recoveryCodes.userId, userId),
          isNull(recoveryCodes.usedAt),
        ),
      )
      .returning({ hash: recoveryCodes.hash });
    return spent.length > 0;
  }

  /** A TOTP code (6 digits) or a recovery code, whichever `code` looks like. */
  async function acceptSecondFactor(userId: string, code: string): Promise<boolean> {
    return /^\d{6}$/.test(code) ? acceptTotp(userId, code) : acceptRecoveryCode(userId, code);
  }

  /** A fresh set of recovery codes (the old ones die), in one batch (with `audit`'s entry). */
  async function replaceRecoveryCodes(userId: string, audit?: AuditEntry): Promise<string[]> {
    const codes = Array.from({ length: recoveryCodeCount }, newRecoveryCode);
    const now = clock.now();
    const at = now.toISOString();
    const rows = await Promise.all(
      codes.map(async (code) => ({ hash: await recoveryHash(code), userId, created: at })),
    );
    await db.batch([
      db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId)),
      db.insert(recoveryCodes).values(rows),
      ...(audit ? [db.run(auditSql(audit, now.getTime()))] : []),
    ]);
    return codes;
  }

  /** An audit entry about the signed-in account's own factors. */
  const own = (userId: string, action: AuditEntry["action"], details?: AuditEntry["details"]) => ({
    action,
    actor: `user:${userId}`,
    subject: userId,
    ...(details ? { details } : {}),
  });

  return {
    /** Whether the signed-in account has two-factor sign-in, and how many recovery codes are left. */
    async mfaStatus(principal: Principal) {
      const me = requireUser(principal);
      const [enabled] = await db
        .select({ enabledAt: totpCredentials.enabledAt })
        .from(totpCredentials)
        .where(and(eq(totpCredentials.userId, me.id), isNotNull(totpCredentials.enabledAt)));
      const [left] = await db
        .select({ n: count() })
        .from(recoveryCodes)
        .where(and(eq(recoveryCodes.userId, me.id), isNull(recoveryCodes.usedAt)));
      return {
        totp: enabled !== undefined,
        enabledAt: enabled?.enabledAt ?? null,
        recoveryCodesLeft: enabled === undefined ? 0 : (left?.n ?? 0),
      };
    },

    /**
     * Starts enrolment: a new key (replacing an unconfirmed one), shown this once. 409 when
     * two-factor sign-in is already on (disable it first).
     */
    async enrollTotp(principal: Principal): Promise<{ secret: string; uri: string }> {
      const me = requireUser(principal);
      requireRecentAuth(principal, clock.now().getTime(), (await auth()).stepUpMaxAgeSeconds);
      const user = await currentUser(db, principal);
      const seal = await requireSealer();
      const [existing] = await db
        .select({ enabledAt: totpCredentials.enabledAt })
        .from(totpCredentials)
        .where(eq(totpCredentials.userId, me.id));
      if (existing?.enabledAt != null)
        throw new ApiError("CONFLICT", "Two-factor sign-in is already on; disable it first.");
      const key = crypto.getRandomValues(new Uint8Array(20));
      const sealed = await seal.seal(base64url(key), sealContext(me.id));
      const at = clock.now().toISOString();
      await db
        .insert(totpCredentials)
        .values({ userId: me.id, secret: sealed, created: at })
        .onConflictDoUpdate({
          target: totpCredentials.userId,
          set: { secret: sealed, created: at, lastStep: 0 },
          setWhere: isNull(totpCredentials.enabledAt),
        });
      const uri = createTOTPKeyURI(relyingParty.name, user.email, key, period, digits);
      return { secret: new URL(uri).searchParams.get("secret") ?? "", uri };
    },

    /** Turns two-factor sign-in on with a first code from the new key; answers recovery codes. */
    async confirmTotp(principal: Principal, input: unknown): Promise<{ recoveryCodes: string[] }> {
      const me = requireUser(principal);
      const { code } = validate(totpCodeInput, input);
      await throttle(me.id);
      const pending = await keyOf(me.id, false);
      if (pending === undefined)
        throw new ApiError("CONFLICT", "No enrolment is pending; start one at /mfa/totp/enroll.");
      const step = matchingStep(pending.key, code, clock.now().getTime());
      if (step === undefined) throw wrongCode();
      const now = clock.now();
      // The entry commits with the change, and only if this request made it (changes() > 0).
      const [turnedOn] = await db.batch([
        db
          .update(totpCredentials)
          .set({ enabledAt: now.toISOString(), lastStep: step })
          .where(and(eq(totpCredentials.userId, me.id), isNull(totpCredentials.enabledAt)))
          .returning({ userId: totpCredentials.userId }),
        db.run(auditSql(own(me.id, "auth.totp_enabled"), now.getTime(), true)),
      ]);
      if (turnedOn.length === 0) throw wrongCode();
      log.write({
        level: "info",
        msg: "security: two-factor sign-in on",
        event: "mfa_enabled",
        userId: me.id,
      });
      return { recoveryCodes: await replaceRecoveryCodes(me.id) };
    },

    /** Replaces the recovery codes; a current code (TOTP or recovery) proves the second factor. */
    async regenerateRecoveryCodes(
      principal: Principal,
      input: unknown,
    ): Promise<{ recoveryCodes: string[] }> {
      const me = requireUser(principal);
      const { code } = validate(mfaCodeInput, input);
      await throttle(me.id);
      if (!(await acceptSecondFactor(me.id, code))) throw wrongCode();
      return {
        recoveryCodes: await replaceRecoveryCodes(
          me.id,
          own(me.id, "auth.recovery_codes_regenerated", { count: recoveryCodeCount }),
        ),
      };
    },

    /** Turns two-factor sign-in off: needs a current code (TOTP or recovery) as re-authentication. */
    async disableTotp(principal: Principal, input: unknown): Promise<void> {
      const me = requireUser(principal);
      requireRecentAuth(principal, clock.now().getTime(), (await auth()).stepUpMaxAgeSeconds);
      const { code } = validate(mfaCodeInput, input);
      await throttle(me.id);
      if (!(await acceptSecondFactor(me.id, code))) throw wrongCode();
      await db.batch([
        db.delete(totpCredentials).where(eq(totpCredentials.userId, me.id)),
        db.run(auditSql(own(me.id, "auth.totp_disabled"), clock.now().getTime(), true)),
        db.delete(recoveryCodes).where(eq(recoveryCodes.userId, me.id)),
      ]);
      log.write({
        level: "info",
        msg: "security: two-factor sign-in off",
        event: "mfa_disabled",
        userId: me.id,
      });
    },

    /** The second step of a sign-in: an MFA ticket and a code give tokens. */
    async verifyMfa(input: unknown, caller: Caller): Promise<SignedIn> {
      const body = validate(mfaVerifyInput, input);
      const now = clock.now();
      const ticket = await attemptMfaTicket(db, body.mfaTicket, now.getTime());
      if (ticket === undefined)
        throw rejectedCredential("The sign-in ticket is invalid, expired or used; sign in again.");
      await throttle(ticket.userId);
      if (!(await acceptSecondFactor(ticket.userId, body.code))) {
        // Who holds the password but not the second factor is worth an entry.
        await writeAudit(
          sql,
          {
            action: "auth.sign_in_failed",
            actor: "anonymous",
            subject: ticket.userId,
            outcome: "failed",
            details: {
              method: /^\d{6}$/.test(body.code) ? "totp" : "recovery_code",
              firstFactor: ticket.method,
              reason: "wrong_code",
            },
          },
          now.getTime(),
        );
        throw wrongCode();
      }
      if (!(await spendMfaTicket(db, body.mfaTicket, now.getTime())))
        throw rejectedCredential("The sign-in ticket is invalid, expired or used; sign in again.");
      const user = await userById(db, ticket.userId);
      if (user === undefined) throw rejectedCredential("This account no longer exists.");
      const pair = await startSession(db, await auth(), user, caller.userAgent, now);
      return { user: publicUser(user), ...pair };
    },

    /** Checks a TOTP code for a signed-in account (step-up); false when wrong or replayed. */
    async checkTotp(userId: string, code: string): Promise<boolean> {
      await throttle(userId);
      return acceptTotp(userId, code);
    },
  };
}
