import { ApiError } from "../kernel/errors";
import type { Platform } from "../kernel/ports";
import type { HashParams } from "./passwords";
import { KeySet } from "./signing-keys";

/** What auth needs at run time; built once per process/isolate. */
export interface AuthConfig {
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /** Base URL for links in mail (password reset, verification). */
  publicUrl: string;
  keys: KeySet;
  /** Log-in throttles, precise across instances: per account from one address, and per account. */
  loginPerAccount: string;
  loginPerAccountTotal: string;
  /** Per-address budget of rejected credentials (bad tokens, keys, passwords), or "off". */
  credentialFailures: string;
  forgotPerAccount: string;
  /** How recent a sign-in sensitive actions need (STEP_UP_MAX_AGE_SECONDS). */
  stepUpMaxAgeSeconds: number;
  /** Whether a user-verified passkey sign-in skips the TOTP code (PASSKEY_SATISFIES_MFA). */
  passkeySatisfiesMfa: boolean;
  /** How new password hashes are made; stored hashes made otherwise are rewritten at log-in. */
  passwordHash: HashParams;
}

/** Builds the auth configuration; the signing keys come from the JWT_PRIVATE_KEYS secret. */
export async function loadAuthConfig(
  platform: Pick<Platform, "secrets">,
  config: {
    jwtIssuer: string;
    jwtAudience: string;
    accessTokenTtlSeconds: number;
    refreshTokenTtlDays: number;
    publicUrl: string;
    loginLimitPerAccount: string;
    loginLimitPerAccountTotal: string;
    credentialFailureLimit: string;
    forgotLimitPerAccount: string;
    stepUpMaxAgeSeconds?: number;
    passkeys?: { satisfiesMfa?: boolean };
    passwordHash: HashParams;
  },
): Promise<AuthConfig> {
  const json = await platform.secrets.get("JWT_PRIVATE_KEYS");
  if (json === undefined || json === "") {
    throw new Error(
      "JWT_PRIVATE_KEYS is not set: on Workers, `npx wrangler secret put JWT_PRIVATE_KEYS` with the output of `npm run keys:rotate -- --print`",
    );
  }
  return {
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    accessTokenTtlSeconds: config.accessTokenTtlSeconds,
    refreshTokenTtlSeconds: config.refreshTokenTtlDays * 86_400,
    publicUrl: config.publicUrl,
    keys: await KeySet.fromJson(json),
    loginPerAccount: config.loginLimitPerAccount,
    loginPerAccountTotal: config.loginLimitPerAccountTotal,
    credentialFailures: config.credentialFailureLimit,
    forgotPerAccount: config.forgotLimitPerAccount,
    stepUpMaxAgeSeconds: config.stepUpMaxAgeSeconds ?? 600,
    passkeySatisfiesMfa: config.passkeys?.satisfiesMfa ?? true,
    passwordHash: config.passwordHash,
  };
}

/**
 * The auth configuration, loaded once on first use (Workers secrets are only readable per
 * request). A failure is logged with its reason and answered as CONFIG_INVALID — without the
 * reason — and retried on the next use.
 */
export function authConfigLoader(
  platform: Pick<Platform, "secrets" | "log">,
  config: Parameters<typeof loadAuthConfig>[1],
): () => Promise<AuthConfig> {
  let loaded: Promise<AuthConfig> | undefined;
  return () => {
    loaded ??= loadAuthConfig(platform, config).catch((err: unknown) => {
      loaded = undefined;
      platform.log.write({
        level: "error",
        msg: "auth configuration invalid",
        error: String((err as Error).message),
      });
      throw new ApiError(
        "CONFIG_INVALID",
        "Authentication is not configured on this server; see its logs.",
      );
    });
    return loaded;
  };
}
