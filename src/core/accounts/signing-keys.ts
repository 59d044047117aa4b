import {
  type CryptoKey,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from "jose";
import { VerifiedTokens } from "./verified-tokens";

/** Access tokens are EdDSA (Ed25519) JWTs; nothing else is ever accepted. */
export const jwtAlgorithm = "EdDSA";

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/**
 * The signing keys: the first signs, all verify and are published in the JWKS, so a rotated-out
 * key keeps verifying the tokens it signed until they expire and it is removed.
 */
export class KeySet {
  private constructor(
    readonly keys: SigningKey[],
    private readonly byKid: Map<string, CryptoKey>,
  ) {}

  /** From a JSON array of private Ed25519 JWKs, each with a `kid` (JWT_PRIVATE_KEYS). */
  static async fromJson(json: string): Promise<KeySet> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      throw new Error("JWT_PRIVATE_KEYS is not valid JSON (expected an array of private JWKs)");
    }
    if (!Array.isArray(parsed) || parsed.length === 0)
      throw new Error("JWT_PRIVATE_KEYS must be a non-empty array of private JWKs");
    const keys: SigningKey[] = [];
    const byKid = new Map<string, CryptoKey>();
    for (const jwk of parsed as JWK[]) {
      if (
        jwk.kty !== "OKP" ||
        jwk.crv !== "Ed25519" ||
        typeof jwk.d !== "string" ||
        typeof jwk.kid !== "string"
      ) {
        throw new Error("JWT_PRIVATE_KEYS entries must be Ed25519 private JWKs with a kid");
      }
      const privateKey = (await importJWK(
        { ...jwk, alg: jwtAlgorithm },
        jwtAlgorithm,
      )) as CryptoKey;
      const { d: _d, ...publicJwk } = jwk;
      const publicKey = (await importJWK(
        { ...publicJwk, alg: jwtAlgorithm },
        jwtAlgorithm,
      )) as CryptoKey;
      keys.push({
        kid: jwk.kid,
        privateKey,
        publicJwk: { ...publicJwk, alg: jwtAlgorithm, use: "sig" },
      });
      byKid.set(jwk.kid, publicKey);
    }
    return new KeySet(keys, byKid);
  }

  /** The JSON Web Key Set to publish (public halves only). */
  jwks(): { keys: JWK[] } {
    return { keys: this.keys.map((k) => k.publicJwk) };
  }

  async sign(
    payload: JWTPayload,
    options: { issuer: string; audience: string; subject: string; ttlSeconds: number },
  ): Promise<string> {
    const active = this.keys[0]!;
    return new SignJWT(payload)
      .setProtectedHeader({ alg: jwtAlgorithm, kid: active.kid, typ: "at+jwt" })
      .setIssuer(options.issuer)
      .setAudience(options.audience)
      .setSubject(options.subject)
      .setIssuedAt()
      .setExpirationTime(`${options.ttlSeconds}s`)
      .sign(active.privateKey);
  }

  private readonly verified = new VerifiedTokens();

  /**
   * Verifies signature (by kid, EdDSA only), type, issuer, audience and expiry (`exp` required).
   * A token verified once is reused for up to a minute (bounded, per process/isolate: see
   * VerifiedTokens for why that is safe), so a client's repeated requests skip the signature
   * check; issuer, audience, `exp` and `nbf` are still checked on every use.
   */
  async verify(token: string, options: { issuer: string; audience: string }) {
    const now = Math.floor(Date.now() / 1000);
    const known = this.verified.get(token, options.issuer, options.audience, now);
    if (known !== undefined) return known;
    const payload = await this.verifyUncached(token, options);
    this.verified.set(token, payload, options.issuer, options.audience, now);
    return payload;
  }

  private async verifyUncached(token: string, options: { issuer: string; audience: string }) {
    const { payload } = await jwtVerify(
      token,
      async (header) => {
        const key = header.kid === undefined ? undefined : this.byKid.get(header.kid);
        if (key === undefined) throw new Error("unknown kid");
        return key;
      },
      {
        algorithms: [jwtAlgorithm],
        issuer: options.issuer,
        audience: options.audience,
        typ: "at+jwt",
        requiredClaims: ["exp"],
        clockTolerance: 5,
      },
    );
    return payload;
  }
}

/** A new Ed25519 private JWK with a kid (for first start, rotation and dev). */
export async function generateSigningJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair(jwtAlgorithm, { crv: "Ed25519", extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = `k${new Date().toISOString().slice(0, 10).replaceAll("-", "")}-${crypto.randomUUID().slice(0, 8)}`;
  return { ...jwk, kid, alg: jwtAlgorithm, use: "sig" };
}
