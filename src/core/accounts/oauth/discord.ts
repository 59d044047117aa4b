import { Discord } from "arctic";
import {
  fetchJson,
  type OAuthClientOptions,
  type OAuthProfile,
  type OAuthProvider,
  str,
} from "./provider";

/** Discord's /users/@me: `id` (a snowflake), `email`, and `verified` — whether that email is. */
export function discordProfile(user: Record<string, unknown>): OAuthProfile {
  return {
    id: str(user.id) ?? "",
    email: str(user.email),
    emailVerified: user.verified === true,
    name: str(user.global_name) ?? str(user.username) ?? "",
  };
}

/** Discord: authorization code with PKCE, scopes `identify email`. */
export function discord(options: OAuthClientOptions): OAuthProvider {
  const client = new Discord(options.clientId, options.clientSecret, options.redirectUri);
  return {
    name: "discord",
    createAuthorizationURL: (state, codeVerifier) =>
      client.createAuthorizationURL(state, codeVerifier, ["identify", "email"]),
    validateAuthorizationCode: (code, codeVerifier) =>
      client.validateAuthorizationCode(code, codeVerifier),
    async fetchProfile(tokens) {
      const user = await fetchJson("https://discord.com/api/users/@me", tokens.accessToken());
      return discordProfile(user as Record<string, unknown>);
    },
  };
}
