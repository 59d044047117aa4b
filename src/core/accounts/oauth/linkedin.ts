import { LinkedIn } from "arctic";
import {
  fetchJson,
  type OAuthClientOptions,
  type OAuthProfile,
  type OAuthProvider,
  str,
  verifiedFlag,
} from "./provider";

/** LinkedIn's OpenID userinfo: `sub`, `email` and `email_verified`. */
export function linkedinProfile(info: Record<string, unknown>): OAuthProfile {
  return {
    id: str(info.sub) ?? "",
    email: str(info.email),
    emailVerified: verifiedFlag(info.email_verified),
    name: str(info.name) ?? "",
  };
}

/** Sign In with LinkedIn using OpenID Connect: scopes `openid profile email`. */
export function linkedin(options: OAuthClientOptions): OAuthProvider {
  const client = new LinkedIn(options.clientId, options.clientSecret, options.redirectUri);
  return {
    name: "linkedin",
    createAuthorizationURL: (state) =>
      client.createAuthorizationURL(state, ["openid", "profile", "email"]),
    validateAuthorizationCode: (code) => client.validateAuthorizationCode(code),
    async fetchProfile(tokens) {
      const info = await fetchJson("https://api.linkedin.com/v2/userinfo", tokens.accessToken());
      return linkedinProfile(info as Record<string, unknown>);
    },
  };
}
