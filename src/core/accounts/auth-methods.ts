import { loadSealer } from "../kernel/seal";
import type { AccountDeps } from "./deps";
import type { AuthMethods } from "./strong-schemas";

/** How login pages name the built-in providers; an OIDC provider goes by OAUTH_OIDC_NAME. */
const displayNames: Record<string, string> = {
  github: "GitHub",
  google: "Google",
  apple: "Apple",
  microsoft: "Microsoft",
  discord: "Discord",
  gitlab: "GitLab",
  facebook: "Facebook",
  x: "X",
  linkedin: "LinkedIn",
};

/**
 * Which sign-in methods this server offers, for login pages (like PocketBase's auth-methods):
 * password, mailed codes and passkeys always; TOTP as a second factor when a data key can seal
 * its secrets (DATA_ENCRYPTION_KEYS; the Node home makes one); the configured OAuth providers
 * with the URL that starts each. Built from settings and PUBLIC_URL only — the same for everyone.
 */
export function authMethodOperations({ auth, oauth, secrets }: AccountDeps) {
  return {
    async authMethods(): Promise<AuthMethods> {
      const { publicUrl } = await auth();
      const sealer = await loadSealer(secrets).catch(() => undefined);
      return {
        password: true,
        otp: true,
        passkey: true,
        mfa: sealer === undefined ? [] : ["totp"],
        providers: oauth.names().map((name) => ({
          name,
          displayName: displayNames[name] ?? name,
          startUrl: `${publicUrl}/api/auth/oauth/${name}/start`,
        })),
      };
    },
  };
}
