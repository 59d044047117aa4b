import { and, eq, ne } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../db/client";
import { users } from "../db/schema/auth";
import { userUpdatedSql } from "../events/account-events";
import { engineEventSql } from "../events/outbox";
import { randomId } from "../kernel/crypto";
import { ApiError } from "../kernel/errors";
import type { Principal } from "../kernel/principal";
import { unauthenticated } from "../kernel/refusals";
import { isPlainText, parseEmail } from "./identifiers";
import type { PublicUser } from "./schemas";

export type User = typeof users.$inferSelect;
type Statement = BatchItem<"sqlite">;

/** What a new account starts with; everything but the email has a default. */
export interface NewUser {
  /** A `usr_` id chosen ahead (a passkey sign-up puts it in the credential's user handle). */
  id?: string;
  email: string;
  name?: string;
  role?: User["role"];
  /** A hash from `hashPassword`; none for accounts that sign in only through a provider. */
  passwordHash?: string | null;
  /** True when the mailbox is already proven (a provider verified it, or an operator vouches). */
  emailVerified?: boolean;
}

/**
 * The one way an account comes to exist: sign-up, OAuth sign-in, `npm run admin:create` and the
 * test harness all call it, so every row starts from the same rules (a parsed email, a plain-text
 * name, a `usr_` id). `also(user)` runs in the same batch (e.g. linking the OAuth identity), so the
 * account never exists without it. Returns `undefined` when the email is taken (and nothing is
 * written); with `also`, a lost race for the email fails the whole batch instead.
 */
export async function createUser(
  db: Database,
  input: NewUser,
  now: Date,
  also?: (user: User) => Statement[],
): Promise<User | undefined> {
  const email = parseEmail(input.email);
  if (email === undefined) throw new ApiError("VALIDATION_FAILED", "Not an email address.");
  const name = input.name ?? "";
  if (!isPlainText(name))
    throw new ApiError("VALIDATION_FAILED", "The name has control characters.");
  const at = now.toISOString();
  const user: User = {
    id: input.id ?? randomId("usr"),
    email,
    emailVerifiedAt: input.emailVerified === true ? at : null,
    passwordHash: input.passwordHash ?? null,
    name,
    role: input.role ?? "user",
    created: at,
    updated: at,
  };
  // user.created commits with the account, only if it was inserted (right after the insert).
  const event = db.run(
    engineEventSql(
      "user.created",
      user.id,
      "system",
      {
        id: user.id,
        email,
        name,
        role: user.role,
        emailVerified: user.emailVerifiedAt !== null,
        created: at,
      },
      now.getTime(),
    ),
  );
  const extra = also?.(user) ?? [];
  if (extra.length > 0) {
    await db.batch([db.insert(users).values(user), event, ...extra]);
    return user;
  }
  const [inserted] = await db.batch([
    db.insert(users).values(user).onConflictDoNothing().returning({ id: users.id }),
    event,
  ]);
  return inserted.length === 0 ? undefined : user;
}

export async function userById(db: Database, id: string): Promise<User | undefined> {
  const [user] = await db.select().from(users).where(eq(users.id, id));
  return user;
}

/** `email` must already be parsed (`parseEmail`): stored addresses are. */
export async function userByEmail(db: Database, email: string): Promise<User | undefined> {
  const [user] = await db.select().from(users).where(eq(users.email, email));
  return user;
}

/**
 * Sets an account's password hash (a new password, a reset, a rehash at log-in, or dropping it)
 * and its `user.updated` event, to run in one batch. `changed` is `["password"]` unless it is a
 * rehash of the same password (`rehash`), which changes nothing anyone can see.
 */
export function setPasswordHash(
  db: Database,
  userId: string,
  passwordHash: string | null,
  now: Date,
  options: { actor?: string; rehash?: boolean } = {},
): [Statement, Statement] {
  return [
    db.update(users).set({ passwordHash, updated: now.toISOString() }).where(eq(users.id, userId)),
    db.run(
      userUpdatedSql(
        userId,
        options.actor ?? `user:${userId}`,
        options.rehash ? [] : ["password"],
        now.getTime(),
      ),
    ),
  ];
}

/** Promotes an account to admin (operators only: `npm run admin:create`), with its event. */
export async function makeAdmin(db: Database, userId: string, now: Date): Promise<void> {
  await db.batch([
    db
      .update(users)
      .set({ role: "admin", updated: now.toISOString() })
      .where(and(eq(users.id, userId), ne(users.role, "admin"))),
    db.run(userUpdatedSql(userId, "system", ["role"], now.getTime())),
  ]);
}

/** What an account looks like to its owner (never the hash). */
export function publicUser(u: User): PublicUser {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    role: u.role,
    emailVerified: u.emailVerifiedAt !== null,
    created: u.created,
  };
}

/** The signed-in user behind a principal; API keys and anonymous callers get 401. */
export function requireUser(principal: Principal) {
  if (principal.kind !== "user") throw unauthenticated("Sign in with an access token.");
  return principal;
}

/** The signed-in user's row; 401 when the account was deleted since the token was issued. */
export async function currentUser(db: Database, principal: Principal): Promise<User> {
  const user = await userById(db, requireUser(principal).id);
  if (user === undefined) throw unauthenticated("This account no longer exists.");
  return user;
}
