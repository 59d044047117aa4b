import { GitLab } from "arctic";
import {
  fetchJson,
  type OAuthClientOptions,
  type OAuthProfile,
  type OAuthProvider,
  str,
  verifiedFlag,
} from "./provider";

/** GitLab's OpenID userinfo: `sub` (the user id), `email` and `email_verified`. */
export function gitlabProfile(info: Record<string, unknown>): OAuthProfile {
  return {
    id: str(info.sub) ?? "",
    email: str(info.email),
    emailVerified: verifiedFlag(info.email_verified),
    name: str(info.name) ?? str(info.nickname) ?? "",
  };
}

/** GitLab.com or a self-managed GitLab at `baseUrl`: scopes `openid profile email`. */
export function gitlab(options: OAuthClientOptions & { baseUrl: string }): OAuthProvider {
  const client = new GitLab(
    options.baseUrl,
    options.clientId,
    options.clientSecret,
    options.redirectUri,
  );
  return {
    name: "gitlab",
    createAuthorizationURL: (state) =>
      client.createAuthorizationURL(state, ["openid", "profile", "email"]),
    validateAuthorizationCode: (code) => client.validateAuthorizationCode(code),
    async fetchProfile(tokens) {
      const info = await fetchJson(`${options.baseUrl}/oauth/userinfo`, tokens.accessToken());
      return gitlabProfile(info as Record<string, unknown>);
    },
  };
}
