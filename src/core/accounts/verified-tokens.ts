import type { JWTPayload } from "jose";

/** What a verification established, and until when it may be reused. */
interface Entry {
  payload: JWTPayload;
  issuer: string;
  audience: string;
  /** The token's own `exp` (seconds). */
  exp: number;
  /** The token's `nbf` (seconds), when it has one. */
  nbf: number | undefined;
  /** When this entry stops being used (seconds): at most `ttlSeconds` after it was verified. */
  until: number;
}

/**
 * Access tokens whose signature was verified, so a client's repeated requests skip the Ed25519
 * check (per process/isolate; bounded, least recently used evicted first).
 *
 * Why reusing a verification is safe:
 * - The key is the exact token string, so an entry can only be hit by the byte-identical token
 *   that passed: a tampered header, payload or signature is a different string and is verified
 *   in full (and refused). Only successful verifications are stored; a failure is never cached.
 * - What the signature check depends on cannot change under an entry: the key set of a KeySet is
 *   fixed for its life (rotation builds a new one, with an empty cache), and the claims are part
 *   of the signed string.
 * - Everything that depends on time or on the caller's options is checked on every use: the
 *   issuer and audience asked for must be the ones verified, `exp` must still be in the future
 *   (strictly: the clock tolerance the full check allows is not extended to cached entries) and
 *   `nbf` (if any) reached. Each entry is also dropped `ttlSeconds` after its verification, so
 *   no verification is reused for longer than that, whatever the token's lifetime.
 * - Access tokens are stateless by design (no session lookup per request; they are short-lived
 *   and refresh tokens carry revocation): a cached token is accepted exactly when a fresh
 *   verification at that instant would accept it.
 */
export class VerifiedTokens {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly capacity = 10_000,
    private readonly ttlSeconds = 60,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The claims of `token` verified for `issuer`/`audience` and still valid at `now` (seconds). */
  get(token: string, issuer: string, audience: string, now: number): JWTPayload | undefined {
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    if (entry.until <= now || entry.exp <= now) {
      this.entries.delete(token);
      return undefined;
    }
    if (entry.issuer !== issuer || entry.audience !== audience) return undefined;
    if (entry.nbf !== undefined && entry.nbf > now) return undefined;
    // Most recently used last: Map keeps insertion order, so eviction takes the first key.
    this.entries.delete(token);
    this.entries.set(token, entry);
    return entry.payload;
  }

  /**
   * Remembers a token that has just passed full verification for `issuer`/`audience`. Tokens
   * without a numeric `exp`, or already at it, are not kept.
   */
  set(token: string, payload: JWTPayload, issuer: string, audience: string, now: number): void {
    if (typeof payload.exp !== "number" || payload.exp <= now) return;
    this.entries.delete(token);
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(token, {
      // Shared by every request that presents this token: nobody may change it.
      payload: Object.freeze(payload),
      issuer,
      audience,
      exp: payload.exp,
      nbf: typeof payload.nbf === "number" ? payload.nbf : undefined,
      until: now + this.ttlSeconds,
    });
  }
}
