import { and, eq } from "drizzle-orm";
import { oauthAccounts, users } from "../../db/schema/auth";
import { ApiError } from "../../kernel/errors";
import type { AccountDeps } from "../deps";
import { dropUnprovenFactorsStatements } from "../factors";
import { isPlainText, parseEmail } from "../identifiers";
import { mailboxProvenStatements, revokeAllCredentials } from "../revoke";
import { createUser, setPasswordHash, type User, userByEmail } from "../users";
import type { OAuthProfile } from "./provider";

/** A provider's profile, checked like any other input: plain-text ids and names, a real email. */
function checkedProfile(profile: OAuthProfile) {
  const fail = (what: string) =>
    new ApiError("BAD_REQUEST", `The provider sent an unusable ${what}; sign-in refused.`);
  if (typeof profile.id !== "string" || profile.id === "" || profile.id.length > 255)
    throw fail("account id");
  if (!isPlainText(profile.id)) throw fail("account id");
  const name = typeof profile.name === "string" ? profile.name.trim().slice(0, 100) : "";
  if (!isPlainText(name)) throw fail("name");
  if (profile.email === undefined)
    throw new ApiError("BAD_REQUEST", "The provider did not share an email address.");
  const email = parseEmail(profile.email);
  if (email === undefined) throw fail("email address");
  return { id: profile.id, name, email, emailVerified: profile.emailVerified === true };
}

/**
 * The account an OAuth sign-in belongs to. An identity already linked signs in to its account.
 * Otherwise the provider must have verified the email — an unverified one never creates or links
 * an account, and the answer is the same whether or not an account exists. A verified email
 * proves the mailbox (see `mailboxProvenStatements`): it links to the account with that address;
 * if that account was never verified, its password may be a squatter's set up before the owner
 * arrived ("pre-account hijacking"), so the password, every credential and every identity linked
 * before are dropped (the owner can set a password through forgot-password).
 */
export async function findOrCreateUser(
  { db, clock, log }: Pick<AccountDeps, "db" | "clock" | "log">,
  provider: string,
  raw: OAuthProfile,
): Promise<User> {
  const profile = checkedProfile(raw);
  const [linked] = await db
    .select({ user: users })
    .from(oauthAccounts)
    .innerJoin(users, eq(users.id, oauthAccounts.userId))
    .where(and(eq(oauthAccounts.provider, provider), eq(oauthAccounts.providerUserId, profile.id)));
  if (linked) return linked.user;
  if (!profile.emailVerified) {
    throw new ApiError(
      "EMAIL_NOT_VERIFIED",
      "The provider has not verified this email address, so it cannot sign you in here. Verify it with the provider, or sign up with a password.",
    );
  }
  const now = clock.now();
  const at = now.toISOString();
  const identity = { provider, providerUserId: profile.id };
  const link = (userId: string) =>
    db.insert(oauthAccounts).values({ ...identity, userId, created: at });
  const existing = await userByEmail(db, profile.email);
  if (existing === undefined) {
    const created = await createUser(
      db,
      { email: profile.email, name: profile.name, emailVerified: true },
      now,
      (user) => [link(user.id)],
    );
    return created!;
  }
  const proven = await mailboxProvenStatements(db, existing, now, identity);
  if (!proven.wasVerified) {
    await revokeAllCredentials(db, existing.id, "mailbox_proven", {
      now,
      log,
      also: [
        link(existing.id),
        ...proven.statements,
        ...setPasswordHash(db, existing.id, null, now),
        ...dropUnprovenFactorsStatements(db, existing.id),
      ],
    });
    return { ...existing, emailVerifiedAt: at, passwordHash: null, updated: at };
  }
  if (proven.droppedIdentities > 0) {
    await revokeAllCredentials(db, existing.id, "identity_dropped", {
      now,
      log,
      also: [link(existing.id), ...proven.statements],
    });
  } else {
    await link(existing.id);
  }
  return existing;
}
