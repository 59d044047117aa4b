import { eq } from "drizzle-orm";
import type { Database } from "../db/client";
import { passkeys, recoveryCodes, totpCredentials } from "../db/schema/strong-auth";

/**
 * Statements that drop an account's passkeys, TOTP key and recovery codes. For an account whose
 * address was never proven, when the mailbox's owner proves it by a password reset or a verified
 * provider sign-in: whoever set those up may be a squatter who signed up with someone else's
 * address ("pre-account hijacking") — a passkey would still sign them in, and a TOTP key would
 * lock the owner out. The same rule drops the password and the earlier OAuth identities.
 */
export function dropUnprovenFactorsStatements(db: Database, userId: string) {
  return [
    db.delete(passkeys).where(eq(passkeys.userId, userId)),
    db.delete(totpCredentials).where(eq(totpCredentials.userId, userId)),
    db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId)),
  ];
}
