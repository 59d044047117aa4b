import { base64url, constantTimeEqual, fromBase64url } from "../kernel/crypto";
import type { Principal } from "../kernel/principal";

/**
 * File tokens: short-lived, HMAC-SHA256-signed statements of who asks (the principal the
 * record's view rule is checked against) and until when, for `?token=` on protected files —
 * an `<img src>` cannot send a bearer header, and an access token must not travel in URLs
 * (they end up in logs and Referer headers). The HMAC key is derived (HKDF-SHA256) from the
 * current JWT signing key, so it rotates with JWT_PRIVATE_KEYS and needs no secret of its own;
 * the key id rides in the token so tokens made before a rotation verify until they expire.
 *
 * Format: `<kid>.<payload base64url>.<mac base64url>`, payload `{"p":principal,"exp":epoch s}`.
 */
export interface FileTokenKeys {
  sign(principal: Principal, expiresAt: number): Promise<string>;
  /** The principal, or undefined for a malformed, altered, expired or unknown-key token. */
  verify(token: string, nowSeconds: number): Promise<Principal | undefined>;
}

interface Jwk {
  kid?: unknown;
  d?: unknown;
}

/** Keys from the JWT_PRIVATE_KEYS secret (a JSON array of private JWKs; the first signs). */
export async function fileTokenKeys(jwtPrivateKeys: string): Promise<FileTokenKeys> {
  const parsed = JSON.parse(jwtPrivateKeys) as Jwk[];
  const keys = new Map<string, CryptoKey>();
  let current: string | undefined;
  for (const jwk of parsed) {
    if (typeof jwk.kid !== "string" || typeof jwk.d !== "string") continue;
    keys.set(jwk.kid, await deriveKey(fromBase64url(jwk.d), jwk.kid));
    current ??= jwk.kid;
  }
  if (current === undefined) throw new Error("JWT_PRIVATE_KEYS holds no private key with a kid");
  const signingKid = current;
  const encoder = new TextEncoder();
  const mac = async (key: CryptoKey, text: string) =>
    new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(text)));
  return {
    async sign(principal, expiresAt) {
      const payload = base64url(
        encoder.encode(JSON.stringify({ p: compact(principal), exp: expiresAt })),
      );
      const signed = `${signingKid}.${payload}`;
      return `${signed}.${base64url(await mac(keys.get(signingKid)!, signed))}`;
    },
    async verify(token, nowSeconds) {
      const parts = token.split(".");
      if (parts.length !== 3 || token.length > 2048) return undefined;
      const [kid, payload, signature] = parts as [string, string, string];
      const key = keys.get(kid);
      if (key === undefined) return undefined;
      let given: Uint8Array;
      try {
        given = fromBase64url(signature);
      } catch {
        return undefined;
      }
      if (!constantTimeEqual(given, await mac(key, `${kid}.${payload}`))) return undefined;
      const body = JSON.parse(new TextDecoder().decode(fromBase64url(payload))) as {
        p: Principal;
        exp: number;
      };
      if (typeof body.exp !== "number" || body.exp <= nowSeconds) return undefined;
      return body.p;
    },
  };
}

/** What a rule needs of a principal (session and auth time are not carried). */
function compact(principal: Principal): Principal {
  switch (principal.kind) {
    case "user":
      return { kind: "user", id: principal.id, role: principal.role };
    case "apiKey":
      return {
        kind: "apiKey",
        id: principal.id,
        ownerId: principal.ownerId,
        scopes: principal.scopes,
      };
    default:
      return principal;
  }
}

async function deriveKey(secret: Uint8Array, kid: string): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey("raw", secret, "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    {
      name: "HKDF",
      hash: "SHA-256",
      salt: new TextEncoder().encode("nearbase files v1"),
      info: new TextEncoder().encode(kid),
    },
    base,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign"],
  );
}
