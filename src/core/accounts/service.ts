import { eq } from "drizzle-orm";
import { users } from "../db/schema/auth";
import { adminUserOperations } from "./admin-users";
import { apiKeyOperations } from "./api-keys";
import { authMethodOperations } from "./auth-methods";
import { authenticator } from "./authenticate";
import type { AccountDeps } from "./deps";
import { discoveryOperations } from "./discovery";
import { emailOtpOperations } from "./email-otp";
import { oauthOperations } from "./oauth/flow";
import { passkeyOperations } from "./passkeys";
import { recoveryOperations } from "./recovery";
import { signInOperations } from "./sign-in";
import { stepUpOperations } from "./step-up-flow";
import { totpOperations } from "./totp";

export type { AccountDeps, Caller, Defer } from "./deps";

/**
 * The accounts engine: sign-up and log-in, sessions, recovery mail, API keys, OAuth sign-in and
 * identifying callers. Plain values in and out — no HTTP types — so REST handlers, GraphQL
 * resolvers and jobs call the same operations; each takes the acting `Principal` where it acts for
 * someone, and validates its own input (`unknown`) against the schemas in schemas.ts.
 */
export function createAccountService(deps: AccountDeps) {
  return {
    ...signInOperations(deps),
    ...recoveryOperations(deps),
    ...apiKeyOperations(deps),
    ...oauthOperations(deps),
    ...authenticator(deps),
    ...discoveryOperations(deps),
    ...authMethodOperations(deps),
    ...emailOtpOperations(deps),
    ...passkeyOperations(deps),
    ...totpOperations(deps),
    ...stepUpOperations(deps),
    ...adminUserOperations(deps),
    /**
     * Whether any admin account exists (the admin dashboard's first-run page). Reads one row at
     * most; once true it stays true, as the last admin cannot be demoted or deleted.
     */
    async hasAdmin(): Promise<boolean> {
      const rows = await deps.db
        .select({ id: users.id })
        .from(users)
        .where(eq(users.role, "admin"))
        .limit(1);
      return rows.length > 0;
    },
  };
}

export type AccountService = ReturnType<typeof createAccountService>;
