import { fetchJson, type OAuthClientOptions, type OAuthProvider, pkceClient } from "./provider";

/** GitHub: the primary verified address from /user/emails (the profile's may be unverified). */
export function github(options: OAuthClientOptions): OAuthProvider {
  return {
    name: "github",
    ...pkceClient(
      options,
      {
        authorization: "https://github.com/login/oauth/authorize",
        token: "https://github.com/login/oauth/access_token",
      },
      ["read:user", "user:email"],
    ),
    async fetchProfile(tokens) {
      const accessToken = tokens.accessToken();
      const user = (await fetchJson("https://api.github.com/user", accessToken)) as {
        id: number;
        login: string;
        name?: string;
      };
      const emails = (await fetchJson("https://api.github.com/user/emails", accessToken)) as {
        email: string;
        primary: boolean;
        verified: boolean;
      }[];
      const primary = emails.find((e) => e.primary && e.verified) ?? emails.find((e) => e.verified);
      return {
        id: String(user.id),
        email: primary?.email,
        emailVerified: primary !== undefined,
        name: user.name ?? user.login,
      };
    },
  };
}
