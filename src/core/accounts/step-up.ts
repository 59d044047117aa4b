import { ApiError } from "../kernel/errors";
import type { Principal } from "../kernel/principal";
import { bearerChallenge } from "../kernel/refusals";
import { requireUser } from "./users";

/**
 * 401 STEP_UP_REQUIRED unless the caller authenticated within `maxAgeSeconds`: the access token's
 * `auth_time` (set by every sign-in and step-up, never by a refresh). The challenge follows
 * RFC 9470 (`error="insufficient_user_authentication"`, `max_age`), so clients know to sign in
 * again or step up at /api/auth/step-up. Sensitive actions call this first: creating API keys,
 * removing a passkey, turning two-factor sign-in on or off.
 */
export function requireRecentAuth(principal: Principal, nowMs: number, maxAgeSeconds: number) {
  const me = requireUser(principal);
  if (me.authTime !== undefined && nowMs / 1000 - me.authTime <= maxAgeSeconds) return;
  throw new ApiError(
    "STEP_UP_REQUIRED",
    `This needs a sign-in within the last ${Math.round(maxAgeSeconds / 60)} minutes: step up at /api/auth/step-up (an authenticator code or a passkey), or sign in again.`,
    {
      headers: {
        "www-authenticate": `${bearerChallenge}, error="insufficient_user_authentication", max_age=${maxAgeSeconds}`,
      },
    },
  );
}
