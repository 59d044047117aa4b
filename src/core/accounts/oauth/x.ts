import { Twitter } from "arctic";
import {
  fetchJson,
  type OAuthClientOptions,
  type OAuthProfile,
  type OAuthProvider,
  str,
} from "./provider";

/**
 * X's `/2/users/me?user.fields=confirmed_email`: `data.id`, and `data.confirmed_email`, present
 * only when the account's address is confirmed (and the app has the `users.email` scope), so it is
 * the only email taken.
 */
export function xProfile(answer: Record<string, unknown>): OAuthProfile {
  const data = (answer.data ?? {}) as Record<string, unknown>;
  const email = str(data.confirmed_email);
  return {
    id: str(data.id) ?? "",
    email,
    emailVerified: email !== undefined,
    name: str(data.name) ?? str(data.username) ?? "",
  };
}

/** X (Twitter) OAuth 2.0: authorization code with PKCE, scopes `users.read tweet.read users.email`. */
export function x(options: OAuthClientOptions): OAuthProvider {
  const client = new Twitter(options.clientId, options.clientSecret, options.redirectUri);
  return {
    name: "x",
    createAuthorizationURL: (state, codeVerifier) =>
      client.createAuthorizationURL(state, codeVerifier, [
        "users.read",
        "tweet.read",
        "users.email",
      ]),
    validateAuthorizationCode: (code, codeVerifier) =>
      client.validateAuthorizationCode(code, codeVerifier),
    async fetchProfile(tokens) {
      const me = await fetchJson(
        "https://api.x.com/2/users/me?user.fields=confirmed_email",
        tokens.accessToken(),
      );
      return xProfile(me as Record<string, unknown>);
    },
  };
}
