import { decodeIdToken, type OAuth2Tokens } from "arctic";

const skewSeconds = 300;

/**
 * The claims of the ID token a provider's token endpoint sent, checked for who issued it (`iss`),
 * for whom (`aud` = our client id) and that it has not expired. The signature is not checked: the
 * token came straight from the provider's token endpoint over TLS, which authenticates the issuer
 * (OpenID Connect Core 1.0 §3.1.3.7, item 6); it never comes from the browser.
 */
export function idTokenClaims(
  tokens: OAuth2Tokens,
  expected: { issuer: (iss: string, claims: Record<string, unknown>) => boolean; audience: string },
  nowMs = Date.now(),
): Record<string, unknown> {
  const claims = decodeIdToken(tokens.idToken()) as Record<string, unknown>;
  const { iss, aud, exp } = claims;
  if (typeof iss !== "string" || !expected.issuer(iss, claims))
    throw new Error("ID token from an unexpected issuer");
  const audiences = Array.isArray(aud) ? aud : [aud];
  if (!audiences.includes(expected.audience)) throw new Error("ID token for another client");
  if (typeof exp !== "number" || exp * 1000 + skewSeconds * 1000 < nowMs)
    throw new Error("ID token expired");
  return claims;
}
