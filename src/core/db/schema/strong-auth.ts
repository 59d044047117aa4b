import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { users } from "./auth";

/**
 * Strong sign-in (issue #19): mailed one-time codes, passkeys (WebAuthn), TOTP two-factor with
 * recovery codes, and the short-lived tickets between the steps of a ceremony. Every secret is
 * stored as SHA-256 only, except the TOTP key, which the server must read back and which is
 * therefore sealed (AES-256-GCM, src/core/kernel/seal.ts). Times are epoch ms unless named
 * `created`/`lastUsed` (ISO text, as in auth.ts).
 */

/** Mailed sign-in codes: `id` is handed to the client at request time, the code goes by mail. */
export const emailOtps = sqliteTable(
  "nb_email_otps",
  {
    id: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** SHA-256 of `<id>:<code>`. */
    codeHash: text().notNull(),
    expiresAt: integer().notNull(),
    /** Verification attempts so far; the code dies at the cap. */
    attempts: integer().notNull().default(0),
    usedAt: integer(),
    created: integer().notNull(),
  },
  (t) => [index("nb_email_otps_user_idx").on(t.userId)],
);

/** Passkeys (WebAuthn public-key credentials) registered to accounts. */
export const passkeys = sqliteTable(
  "nb_passkeys",
  {
    id: text().primaryKey(),
    /** The authenticator's credential id, base64url. */
    credentialId: text().notNull(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text().notNull().default(""),
    /** The public key as a JWK (Web Crypto imports it to verify assertions). */
    publicKey: text().notNull(),
    /** COSE algorithm: -7 ES256, -8 EdDSA, -257 RS256. */
    algorithm: integer().notNull(),
    signCount: integer().notNull().default(0),
    backupEligible: integer({ mode: "boolean" }).notNull().default(false),
    backupState: integer({ mode: "boolean" }).notNull().default(false),
    transports: text({ mode: "json" }).$type<string[]>().notNull(),
    aaguid: text().notNull().default(""),
    created: text().notNull(),
    lastUsed: text(),
  },
  (t) => [
    uniqueIndex("nb_passkeys_credential_idx").on(t.credentialId),
    index("nb_passkeys_user_idx").on(t.userId),
  ],
);

/**
 * WebAuthn challenges, by SHA-256 of the challenge: single use, short-lived, bound to who asked —
 * the account and session registering, the account signing in by email, or the address a
 * passwordless sign-up is for (`data`).
 */
export const webauthnChallenges = sqliteTable("nb_webauthn_challenges", {
  hash: text().primaryKey(),
  purpose: text({ enum: ["register", "sign_in", "sign_up", "step_up"] }).notNull(),
  userId: text(),
  sessionId: text(),
  /** JSON: the sign-up's email and name, a new passkey's name. */
  data: text().notNull().default("{}"),
  expiresAt: integer().notNull(),
});

/** An account's TOTP key (one per account); `enabledAt` is null until a first code confirms it. */
export const totpCredentials = sqliteTable("nb_totp", {
  userId: text()
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  /** The key, sealed (AES-256-GCM, bound to the account). */
  secret: text().notNull(),
  enabledAt: text(),
  /** The last time step a code was accepted for: codes of that step or before are refused. */
  lastStep: integer().notNull().default(0),
  created: text().notNull(),
});

/** Recovery codes for two-factor sign-in, by SHA-256: single use, replaced as a set. */
export const recoveryCodes = sqliteTable(
  "nb_recovery_codes",
  {
    hash: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    usedAt: integer(),
    created: text().notNull(),
  },
  (t) => [index("nb_recovery_codes_user_idx").on(t.userId)],
);

/**
 * Tickets between two steps of a sign-in: `mfa` (a first factor passed, the second is due). By
 * SHA-256, short-lived, attempts capped, single use.
 */
export const authTickets = sqliteTable(
  "nb_auth_tickets",
  {
    hash: text().primaryKey(),
    kind: text({ enum: ["mfa"] }).notNull(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** How the first factor was passed (`password`, `otp`), kept for the log. */
    method: text().notNull(),
    expiresAt: integer().notNull(),
    attempts: integer().notNull().default(0),
    usedAt: integer(),
  },
  (t) => [index("nb_auth_tickets_user_idx").on(t.userId)],
);
