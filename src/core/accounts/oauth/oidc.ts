import { tracedFetch } from "../../observability/fetch";
import { fetchJson, type OAuthClientOptions, type OAuthProvider, pkceClient } from "./provider";

/**
 * Any OpenID Connect provider, from its discovery document (one fetch, when the provider is first
 * used). The profile comes from the userinfo endpoint; `email_verified` decides whether the
 * address may create or link an account.
 */
export async function oidc(
  options: OAuthClientOptions & { name: string; issuer: string },
): Promise<OAuthProvider> {
  const res = await tracedFetch(
    `${options.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`,
  );
  if (!res.ok) throw new Error(`OIDC discovery for ${options.name} failed (${res.status})`);
  const meta = (await res.json()) as {
    authorization_endpoint: string;
    token_endpoint: string;
    userinfo_endpoint: string;
  };
  return {
    name: options.name,
    ...pkceClient(
      options,
      { authorization: meta.authorization_endpoint, token: meta.token_endpoint },
      ["openid", "email", "profile"],
    ),
    async fetchProfile(tokens) {
      const info = (await fetchJson(meta.userinfo_endpoint, tokens.accessToken())) as {
        sub: string;
        email?: string;
        email_verified?: boolean | string;
        name?: string;
      };
      return {
        id: info.sub,
        email: info.email,
        emailVerified: info.email_verified === true || info.email_verified === "true",
        name: info.name ?? "",
      };
    },
  };
}
