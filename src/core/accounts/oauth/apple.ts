import { Apple } from "arctic";
import { idTokenClaims } from "./id-token";
import { type OAuthProfile, type OAuthProvider, str, verifiedFlag } from "./provider";

/** Sign in with Apple: a Services ID, the team and key ids, and the key's PKCS#8 bytes (.p8). */
export interface AppleOptions {
  clientId: string;
  teamId: string;
  keyId: string;
  privateKey: Uint8Array;
  redirectUri: string;
}

export const appleIssuer = "https://appleid.apple.com";

/**
 * Apple's claims: `sub` is the account id (stable per team), `email` may be a private relay
 * address (it delivers, and Apple says whether it verified it in `email_verified`, a boolean or
 * the string "true"). The name comes only in the first callback's unsigned `user` form field, so
 * it is not taken.
 */
export function appleProfile(claims: Record<string, unknown>): OAuthProfile {
  return {
    id: str(claims.sub) ?? "",
    email: str(claims.email),
    emailVerified: verifiedFlag(claims.email_verified),
    name: "",
  };
}

/**
 * Apple: the client secret is a short-lived ES256 JWT arctic signs with the team's key; the
 * profile is the ID token. Asking for `email` makes Apple return with a form POST
 * (`response_mode=form_post`), which the callback route turns into a GET. No PKCE (Apple's
 * authorization endpoint does not take it); state still binds the attempt.
 */
export function apple(options: AppleOptions): OAuthProvider {
  const client = new Apple(
    options.clientId,
    options.teamId,
    options.keyId,
    options.privateKey,
    options.redirectUri,
  );
  return {
    name: "apple",
    createAuthorizationURL(state) {
      const url = client.createAuthorizationURL(state, ["name", "email"]);
      url.searchParams.set("response_mode", "form_post");
      return url;
    },
    validateAuthorizationCode: (code) => client.validateAuthorizationCode(code),
    async fetchProfile(tokens) {
      return appleProfile(
        idTokenClaims(tokens, {
          issuer: (iss) => iss === appleIssuer,
          audience: options.clientId,
        }),
      );
    },
  };
}
