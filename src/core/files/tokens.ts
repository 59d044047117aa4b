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
 * Upload tokens (direct uploads, `PUT /api/files/uploads/<token>`) are made the same way with a
 * key of their own (another HKDF salt), so neither kind of token passes for the other.
 *
 * Format: `<kid>.<payload base64url>.<mac base64url>`, payload `{"p":principal,"exp":epoch s}`
 * (upload tokens carry their claims beside `p` and `exp`).
 */
export interface FileTokenKeys {
  sign(principal: Principal, expiresAt: number): Promise<string>;
  /** The principal, or undefined for a malformed, altered, expired or unknown-key token. */
  verify(token: string, nowSeconds: number): Promise<Principal | undefined>;
  signUpload(claims: UploadClaims): Promise<string>;
  /** The claims, or undefined for a malformed, altered, expired or unknown-key token. */
  verifyUpload(token: string, nowSeconds: number): Promise<UploadClaims | undefined>;
}

/** What an upload token allows: one PUT of at most `size` bytes of `types` to one file field. */
export interface UploadClaims {
  /** Who uploads (the record's update rule is checked for them when the upload commits). */
  p: Principal;
  /** The method the URL takes. */
  m: "PUT";
  /** Collection, record id, file field. */
  c: string;
  r: string;
  f: string;
  /** The client's file name (its stored name is made from it when the bytes arrive). */
  n: string;
  /** Most bytes accepted. */
  s: number;
  /** Media types accepted (as sniffed from the bytes). */
  t: string[];
  /** Expiry, epoch seconds. */
  exp: number;
}

interface Jwk {
  kid?: unknown;
  d?: unknown;
}

/** Keys from the JWT_PRIVATE_KEYS secret (a JSON array of private JWKs; the first signs). */
export async function fileTokenKeys(jwtPrivateKeys: string): Promise<FileTokenKeys> {
  const parsed = JSON.parse(jwtPrivateKeys) as Jwk[];
  const files = new Map<string, CryptoKey>();
  const uploads = new Map<string, CryptoKey>();
  let current: string | undefined;
  for (const jwk of parsed) {
    if (typeof jwk.kid !== "string" || typeof jwk.d !== "string") continue;
    const secret = fromBase64url(jwk.d);
    files.set(jwk.kid, await deriveKey(secret, jwk.kid, "nearbase files v1"));
    uploads.set(jwk.kid, await deriveKey(secret, jwk.kid, "nearbase uploads v1"));
    current ??= jwk.kid;
  }
  if (current === undefined) throw new Error("JWT_PRIVATE_KEYS holds no private key with a kid");
  const fileTokens = macTokens(files, current);
  const uploadTokens = macTokens(uploads, current);
  return {
    sign: (principal, expiresAt) => fileTokens.sign({ p: compact(principal), exp: expiresAt }),
    async verify(token, nowSeconds) {
      const body = await fileTokens.verify(token, nowSeconds);
      return body?.p as Principal | undefined;
    },
    signUpload: (claims) => uploadTokens.sign({ ...claims, p: compact(claims.p) }),
    async verifyUpload(token, nowSeconds) {
      const body = (await uploadTokens.verify(token, nowSeconds)) as UploadClaims | undefined;
      if (body === undefined || body.m !== "PUT" || typeof body.s !== "number") return undefined;
      return body;
    },
  };
}

/** Signs and verifies `<kid>.<payload>.<mac>` tokens whose payload has an `exp`. */
function macTokens(keys: Map<string, CryptoKey>, signingKid: string) {
  const encoder = new TextEncoder();
  const mac = async (key: CryptoKey, text: string) =>
    new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(text)));
  return {
    async sign(body: { exp: number; [claim: string]: unknown }) {
      const signed = `${signingKid}.${base64url(encoder.encode(JSON.stringify(body)))}`;
      return `${signed}.${base64url(await mac(keys.get(signingKid)!, signed))}`;
    },
    async verify(token: string, nowSeconds: number): Promise<Record<string, unknown> | undefined> {
      const parts = token.split(".");
      if (parts.length !== 3 || token.length > 4096) return undefined;
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
        exp?: unknown;
      };
      if (typeof body.exp !== "number" || body.exp <= nowSeconds) return undefined;
      return body;
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

async function deriveKey(secret: Uint8Array, kid: string, salt: string): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey("raw", secret, "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    {
      name: "HKDF",
      hash: "SHA-256",
      salt: new TextEncoder().encode(salt),
      info: new TextEncoder().encode(kid),
    },
    base,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign"],
  );
}
