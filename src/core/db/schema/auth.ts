import {
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";

/** Accounts. Emails are stored normalised (trimmed, lower-case); passwords only as hashes. */
export const users = sqliteTable(
  "nb_users",
  {
    id: text().primaryKey(),
    email: text().notNull(),
    emailVerifiedAt: text(),
    passwordHash: text(),
    name: text().notNull().default(""),
    role: text({ enum: ["user", "admin"] })
      .notNull()
      .default("user"),
    created: text().notNull(),
    updated: text().notNull(),
  },
  (t) => [uniqueIndex("nb_users_email_idx").on(t.email)],
);

/** A sign-in on one device: the family every rotated refresh token of it belongs to. */
export const sessions = sqliteTable(
  "nb_sessions",
  {
    id: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    created: text().notNull(),
    lastUsed: text().notNull(),
    expiresAt: integer().notNull(),
    revokedAt: text(),
    userAgent: text().notNull().default(""),
  },
  (t) => [index("nb_sessions_user_idx").on(t.userId)],
);

/** Refresh tokens, by SHA-256 of the token; `usedAt` set on rotation, so reuse is detectable. */
export const refreshTokens = sqliteTable("nb_refresh_tokens", {
  hash: text().primaryKey(),
  sessionId: text()
    .notNull()
    .references(() => sessions.id, { onDelete: "cascade" }),
  expiresAt: integer().notNull(),
  usedAt: integer(),
});

/** API keys, by SHA-256; the prefix is kept to show which key is which. */
export const apiKeys = sqliteTable(
  "nb_api_keys",
  {
    id: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text().notNull(),
    prefix: text().notNull(),
    hash: text().notNull(),
    scopes: text({ mode: "json" }).$type<string[]>().notNull(),
    created: text().notNull(),
    expiresAt: integer(),
    lastUsed: text(),
    revokedAt: text(),
  },
  (t) => [
    uniqueIndex("nb_api_keys_hash_idx").on(t.hash),
    index("nb_api_keys_user_idx").on(t.userId),
  ],
);

/** Single-use, expiring tokens mailed to users (password reset, email verification), hashed. */
export const oneTimeTokens = sqliteTable("nb_one_time_tokens", {
  hash: text().primaryKey(),
  userId: text()
    .notNull()
    .references(() => users.id, { onDelete: "cascade" }),
  purpose: text({ enum: ["password_reset", "email_verify", "oauth_login"] }).notNull(),
  expiresAt: integer().notNull(),
  usedAt: integer(),
});

/** Accounts at OAuth providers linked to users. */
export const oauthAccounts = sqliteTable(
  "nb_oauth_accounts",
  {
    provider: text().notNull(),
    providerUserId: text().notNull(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    created: text().notNull(),
  },
  (t) => [primaryKey({ columns: [t.provider, t.providerUserId] })],
);
