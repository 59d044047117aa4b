import { generateKeyPair, type JWTPayload, SignJWT } from "jose";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { generateSigningJwk, KeySet } from "./signing-keys";
import { VerifiedTokens } from "./verified-tokens";

const issuer = "nearbase";
const audience = "nearbase";
const claims = { issuer, audience, subject: "usr_a", ttlSeconds: 900 };

let keys: KeySet;
let kid: string;
beforeAll(async () => {
  const jwk = await generateSigningJwk();
  kid = jwk.kid!;
  keys = await KeySet.fromJson(JSON.stringify([jwk]));
});
afterEach(() => {
  vi.useRealTimers();
});

/** Signs a token with another Ed25519 key under the real key's kid (a forgery). */
async function forged(payload: JWTPayload) {
  const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  return new SignJWT(payload)
    .setProtectedHeader({ alg: "EdDSA", kid, typ: "at+jwt" })
    .setIssuer(issuer)
    .setAudience(audience)
    .setSubject("usr_a")
    .setIssuedAt()
    .setExpirationTime("15m")
    .sign(privateKey);
}

const flip = (s: string, at: number) =>
  s.slice(0, at) + (s[at] === "A" ? "B" : "A") + s.slice(at + 1);

describe("KeySet.verify with verified tokens remembered", () => {
  it("answers the same claims for a token it has already verified", async () => {
    const token = await keys.sign({ role: "user", sid: "ses_1" }, claims);
    const first = await keys.verify(token, { issuer, audience });
    const again = await keys.verify(token, { issuer, audience });
    expect(again).toEqual(first);
    expect(again.sub).toBe("usr_a");
    expect(again.role).toBe("user");
  });

  it("still refuses tampered and forged tokens after the genuine one was remembered", async () => {
    const token = await keys.sign({ role: "user" }, claims);
    await keys.verify(token, { issuer, audience });
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const admin = Buffer.from(
      JSON.stringify({
        ...JSON.parse(Buffer.from(payload, "base64url").toString()),
        role: "admin",
      }),
    ).toString("base64url");
    const bad = [
      `${header}.${admin}.${signature}`,
      `${header}.${payload}.${flip(signature, 10)}`,
      `${header}.${payload}.`,
      await forged({ role: "user" }),
    ];
    for (const t of bad)
      await expect(keys.verify(t, { issuer, audience }), t.slice(-12)).rejects.toThrow();
    // …and the genuine token is still accepted.
    expect((await keys.verify(token, { issuer, audience })).role).toBe("user");
  });

  it("refuses a remembered token for another audience or issuer", async () => {
    const token = await keys.sign({}, claims);
    await keys.verify(token, { issuer, audience });
    await expect(keys.verify(token, { issuer, audience: "other-service" })).rejects.toThrow();
    await expect(keys.verify(token, { issuer: "someone-else", audience })).rejects.toThrow();
  });

  it("refuses a remembered token once it has expired", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-12-07T12:00:00Z"));
    const token = await keys.sign({}, { ...claims, ttlSeconds: 30 });
    await keys.verify(token, { issuer, audience });
    vi.setSystemTime(new Date("2026-12-07T12:00:20Z"));
    await keys.verify(token, { issuer, audience });
    // Past exp and past the clock tolerance of the full check.
    vi.setSystemTime(new Date("2026-12-07T12:00:40Z"));
    await expect(keys.verify(token, { issuer, audience })).rejects.toThrow(/exp/);
  });

  it("refuses a token without an expiry, even one signed with the right key", async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "EdDSA", kid, typ: "at+jwt" })
      .setIssuer(issuer)
      .setAudience(audience)
      .setSubject("usr_a")
      .sign(keys.keys[0]!.privateKey);
    await expect(keys.verify(token, { issuer, audience })).rejects.toThrow(/exp/);
  });
});

describe("VerifiedTokens", () => {
  const payload = (exp: number, extra: JWTPayload = {}) => ({ sub: "usr_a", exp, ...extra });

  it("keeps an entry no longer than its TTL nor its token's exp", () => {
    const cache = new VerifiedTokens(10, 60);
    cache.set("short", payload(1_030), issuer, audience, 1_000);
    cache.set("long", payload(5_000), issuer, audience, 1_000);
    expect(cache.get("short", issuer, audience, 1_029)?.sub).toBe("usr_a");
    expect(cache.get("short", issuer, audience, 1_030)).toBeUndefined();
    expect(cache.get("long", issuer, audience, 1_059)?.sub).toBe("usr_a");
    expect(cache.get("long", issuer, audience, 1_060)).toBeUndefined();
  });

  it("does not keep tokens without exp or already expired, and checks nbf on every use", () => {
    const cache = new VerifiedTokens(10, 60);
    cache.set("no-exp", { sub: "usr_a" }, issuer, audience, 1_000);
    cache.set("expired", payload(1_000), issuer, audience, 1_000);
    expect(cache.size).toBe(0);
    cache.set("later", payload(2_000, { nbf: 1_010 }), issuer, audience, 1_000);
    expect(cache.get("later", issuer, audience, 1_005)).toBeUndefined();
    expect(cache.get("later", issuer, audience, 1_010)?.sub).toBe("usr_a");
  });

  it("answers only for the issuer and audience it was verified for", () => {
    const cache = new VerifiedTokens(10, 60);
    cache.set("t", payload(2_000), issuer, audience, 1_000);
    expect(cache.get("t", issuer, "other", 1_001)).toBeUndefined();
    expect(cache.get("t", "other", audience, 1_001)).toBeUndefined();
    expect(cache.get("t", issuer, audience, 1_001)?.sub).toBe("usr_a");
  });

  it("stays within its capacity, evicting the least recently used", () => {
    const cache = new VerifiedTokens(3, 60);
    for (const t of ["a", "b", "c"]) cache.set(t, payload(2_000), issuer, audience, 1_000);
    cache.get("a", issuer, audience, 1_001);
    cache.set("d", payload(2_000), issuer, audience, 1_001);
    expect(cache.size).toBe(3);
    expect(cache.get("b", issuer, audience, 1_002)).toBeUndefined();
    for (const t of ["a", "c", "d"]) expect(cache.get(t, issuer, audience, 1_002)).toBeDefined();
  });

  it("hands out claims nobody can change", () => {
    const cache = new VerifiedTokens(3, 60);
    cache.set("t", payload(2_000, { role: "user" }), issuer, audience, 1_000);
    const got = cache.get("t", issuer, audience, 1_001)!;
    expect(() => {
      (got as Record<string, unknown>).role = "admin";
    }).toThrow();
    expect(cache.get("t", issuer, audience, 1_001)?.role).toBe("user");
  });
});
