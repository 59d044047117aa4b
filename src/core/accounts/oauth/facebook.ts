import { Facebook } from "arctic";
import {
  fetchJson,
  type OAuthClientOptions,
  type OAuthProfile,
  type OAuthProvider,
  str,
} from "./provider";

/**
 * Facebook's Graph `/me?fields=id,name,email`: `id` is app-scoped; Graph has no verification
 * flag but sends `email` only for a confirmed address ("not returned if no valid email address
 * is available"), so an email that is there counts as verified and an account without one gets
 * "the provider did not share an email address".
 */
export function facebookProfile(me: Record<string, unknown>): OAuthProfile {
  const email = str(me.email);
  return {
    id: str(me.id) ?? "",
    email,
    emailVerified: email !== undefined,
    name: str(me.name) ?? "",
  };
}

/** Facebook Login: scopes `email public_profile` (no PKCE on Facebook's web flow). */
export function facebook(options: OAuthClientOptions): OAuthProvider {
  const client = new Facebook(options.clientId, options.clientSecret, options.redirectUri);
  return {
    name: "facebook",
    createAuthorizationURL: (state) =>
      client.createAuthorizationURL(state, ["email", "public_profile"]),
    validateAuthorizationCode: (code) => client.validateAuthorizationCode(code),
    async fetchProfile(tokens) {
      const me = await fetchJson(
        "https://graph.facebook.com/me?fields=id,name,email",
        tokens.accessToken(),
      );
      return facebookProfile(me as Record<string, unknown>);
    },
  };
}
