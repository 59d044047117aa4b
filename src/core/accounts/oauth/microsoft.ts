import { MicrosoftEntraId } from "arctic";
import { idTokenClaims } from "./id-token";
import {
  type OAuthClientOptions,
  type OAuthProfile,
  type OAuthProvider,
  str,
  verifiedFlag,
} from "./provider";

const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Microsoft Entra ID's claims: `sub` is the account id (stable for this app). Entra's `email` is
 * an attribute a tenant's administrator (or, for some accounts, the user) can set to any address
 * without proving it — the "nOAuth" account takeover — so it counts as verified only with the
 * `xms_edov` optional claim (the email's domain is verified by the tenant that owns the account),
 * or an explicit `email_verified`. Add `email` and `xms_edov` as optional ID-token claims in the
 * app registration; without them every new sign-in is refused EMAIL_NOT_VERIFIED.
 */
export function microsoftProfile(claims: Record<string, unknown>): OAuthProfile {
  return {
    id: str(claims.sub) ?? "",
    email: str(claims.email),
    emailVerified:
      verifiedFlag(claims.xms_edov) || claims.xms_edov === 1 || verifiedFlag(claims.email_verified),
    name: str(claims.name) ?? "",
  };
}

/**
 * Microsoft Entra ID (work, school and — with tenant `common` or `consumers` — personal accounts):
 * authorization code with PKCE; the profile is the ID token, issued by
 * `https://login.microsoftonline.com/<tid>/v2.0`, with `tid` the configured tenant when that is
 * a tenant id.
 */
export function microsoft(options: OAuthClientOptions & { tenant: string }): OAuthProvider {
  const client = new MicrosoftEntraId(
    options.tenant,
    options.clientId,
    options.clientSecret,
    options.redirectUri,
  );
  const pinned = guid.test(options.tenant) ? options.tenant.toLowerCase() : undefined;
  return {
    name: "microsoft",
    createAuthorizationURL: (state, codeVerifier) =>
      client.createAuthorizationURL(state, codeVerifier, ["openid", "profile", "email"]),
    validateAuthorizationCode: (code, codeVerifier) =>
      client.validateAuthorizationCode(code, codeVerifier),
    async fetchProfile(tokens) {
      return microsoftProfile(
        idTokenClaims(tokens, {
          issuer: (iss, claims) => {
            const tid = str(claims.tid)?.toLowerCase();
            return (
              tid !== undefined &&
              (pinned === undefined || tid === pinned) &&
              iss.toLowerCase() === `https://login.microsoftonline.com/${tid}/v2.0`
            );
          },
          audience: options.clientId,
        }),
      );
    },
  };
}
