import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { hashPassword, verifyPassword } from "../../src/core/accounts/passwords";
import { createTestApp, type TestApp } from "../harness";

// The HTTP behaviour of accounts runs in both homes: test/conformance/auth.suite.ts. What stays
// here needs the Node home's hooks: the default hashing cost and its checks, a moved clock, a
// real socket for an independent JWKS consumer.

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({
    env: { JWT_ISSUER: "https://auth.nearbase.test", JWT_AUDIENCE: "nearbase-api" },
  });
});
afterAll(() => t.close());

const strong = "correct horse battery staple";
let counter = 0;
const freshEmail = () => `person${Date.now()}${counter++}@Example.com`;

async function signup(email = freshEmail(), password = strong) {
  const res = await t.request("/api/auth/signup", {
    method: "POST",
    json: { email, password, name: "Ada" },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as {
    user: { id: string; email: string };
    accessToken: string;
    refreshToken: string;
    sessionId: string;
  };
}

describe("password hashing", () => {
  it("hashes at 100,000 iterations by default, never above Workers' PBKDF2 cap", async () => {
    const { user } = await signup();
    const stored = await t.client.execute({
      sql: "SELECT password_hash FROM nb_users WHERE id = ?",
      args: [user.id],
    });
    expect(String(stored.rows[0]?.password_hash)).toMatch(
      /^pbkdf2-sha256\$100000\$[\w-]{22}\$[\w-]{43}$/,
    );
    // Signing up at another PASSWORD_ITERATIONS: test/conformance/auth.suite.ts.
    expect(() => loadConfig({ PASSWORD_ITERATIONS: "200000" }, "node")).toThrow(
      /PASSWORD_ITERATIONS must be a whole number from 10000 to 100000/,
    );
    await expect(hashPassword(strong, 100_001)).rejects.toThrow(/iterations/);
    // A stored hash Workers could not verify is a failed log-in, not a 500.
    const [, , salt, hash] = (await hashPassword(strong)).split("$");
    expect(await verifyPassword(strong, `pbkdf2-sha256$200000$${salt}$${hash}`)).toEqual({
      ok: false,
      rehash: false,
    });
    expect(await verifyPassword(strong, "pbkdf2-sha256$nope$x$y")).toEqual({
      ok: false,
      rehash: false,
    });
  });
});

describe("access tokens", () => {
  it("verify with an independent JWKS consumer against the running server", async () => {
    const server = serve({ fetch: t.app.fetch, port: 0, hostname: "127.0.0.1" });
    await new Promise((r) => server.once("listening", r));
    try {
      const { port } = server.address() as AddressInfo;
      const { accessToken, user } = await signup();
      const keySet = createRemoteJWKSet(new URL(`http://127.0.0.1:${port}/.well-known/jwks.json`));
      const { payload, protectedHeader } = await jwtVerify(accessToken, keySet, {
        issuer: "https://auth.nearbase.test",
        audience: "nearbase-api",
        algorithms: ["EdDSA"],
      });
      expect(payload.sub).toBe(user.id);
      expect(protectedHeader.kid).toBeTruthy();
      const meta = (await (
        await fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`)
      ).json()) as { jwks_uri: string; issuer: string };
      expect(meta.issuer).toBe("https://auth.nearbase.test");
      // Discovery is built from PUBLIC_URL (the harness's default), never from the Host header.
      expect(meta.jwks_uri).toBe("http://localhost:8787/.well-known/jwks.json");
      const published = (await (
        await fetch(`http://127.0.0.1:${port}/.well-known/jwks.json`)
      ).json()) as {
        keys: Record<string, unknown>[];
      };
      expect(published.keys.every((k) => k.d === undefined)).toBe(true);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe("recovery and verification mail", () => {
  const tokenFrom = (text: string) => /#token=([\w-]+)/.exec(text)?.[1];

  it("expires reset links after 30 minutes", async () => {
    const email = freshEmail();
    await signup(email);
    await t.request("/api/auth/password/forgot", { method: "POST", json: { email } });
    await t.platform.settle();
    const token = tokenFrom(t.mail.at(-1)!.text)!;
    t.advance(31 * 60_000);
    const res = await t.request("/api/auth/password/reset", {
      method: "POST",
      json: { token, password: "a brand new passphrase" },
    });
    expect(res.status).toBe(400);
  });
});
