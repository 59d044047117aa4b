import { oidc } from "./oidc";
import type { OAuthClientOptions, OAuthProvider } from "./provider";

/** Google, through its OpenID Connect discovery document. */
export function google(options: OAuthClientOptions): Promise<OAuthProvider> {
  return oidc({ ...options, name: "google", issuer: "https://accounts.google.com" });
}
