import { CodeChallengeMethod, OAuth2Client, type OAuth2Tokens } from "arctic";
import { tracedFetch } from "../../observability/fetch";

/** What a provider says about the signed-in person (checked by `findOrCreateUser`). */
export interface OAuthProfile {
  id: string;
  email: string | undefined;
  emailVerified: boolean;
  name: string;
}

/**
 * One OAuth provider, with arctic's method shapes: every provider file (github.ts, apple.ts, …)
 * returns this, bound to its client credentials and our callback URL. Sign-in is the
 * authorization-code flow with PKCE (S256) and state.
 */
export interface OAuthProvider {
  readonly name: string;
  /** The provider's consent page for this attempt (state and the verifier's S256 challenge). */
  createAuthorizationURL(state: string, codeVerifier: string): URL;
  /** Exchanges the code the provider sent back (with the attempt's verifier) for tokens. */
  validateAuthorizationCode(code: string, codeVerifier: string): Promise<OAuth2Tokens>;
  /**
   * The provider's stable user id and email, with whether the provider verified that email: from
   * its profile API with the access token, or from the ID token the token endpoint sent.
   */
  fetchProfile(tokens: OAuth2Tokens): Promise<OAuthProfile>;
}

/** A provider's client credentials and where it sends the browser back to. */
export interface OAuthClientOptions {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

/** The authorization-code half every provider shares (arctic's generic OAuth 2.0 client). */
export function pkceClient(
  options: OAuthClientOptions,
  endpoints: { authorization: string; token: string },
  scopes: string[],
): Pick<OAuthProvider, "createAuthorizationURL" | "validateAuthorizationCode"> {
  const client = new OAuth2Client(options.clientId, options.clientSecret, options.redirectUri);
  return {
    createAuthorizationURL: (state, codeVerifier) =>
      client.createAuthorizationURLWithPKCE(
        endpoints.authorization,
        state,
        CodeChallengeMethod.S256,
        codeVerifier,
        scopes,
      ),
    validateAuthorizationCode: (code, codeVerifier) =>
      client.validateAuthorizationCode(endpoints.token, code, codeVerifier),
  };
}

/** GETs a provider API with the user's access token; non-2xx answers throw. */
export async function fetchJson(url: string, accessToken: string): Promise<unknown> {
  const res = await tracedFetch(url, {
    headers: {
      authorization: `Bearer ${accessToken}`,
      accept: "application/json",
      "user-agent": "nearbase",
    },
  });
  if (!res.ok) throw new Error(`${new URL(url).host} answered ${res.status}`);
  return res.json();
}

/** An `email_verified`-style flag: providers send a boolean, some (Apple) the string "true". */
export const verifiedFlag = (value: unknown): boolean => value === true || value === "true";

/** A string field of a provider's answer, or undefined. */
export const str = (value: unknown): string | undefined =>
  typeof value === "string" ? value : typeof value === "number" ? String(value) : undefined;
