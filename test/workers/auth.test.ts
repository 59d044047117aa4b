import { exports } from "cloudflare:workers";
import { createLocalJWKSet, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";

const call = (path: string, init?: RequestInit) =>
  exports.default.fetch(new Request(`https://nearbase.test${path}`, init));
const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

describe("auth in workerd", () => {
  it("signs up, logs in, reads /me, rotates the refresh token, and publishes verifying keys", async () => {
    const email = `wk${Date.now()}@example.com`;
    const password = "correct horse battery staple";
    const signup = await call("/api/auth/signup", json({ email, password }));
    expect(signup.status).toBe(201);
    const login = await call("/api/auth/login", json({ email, password }));
    expect(login.status).toBe(200);
    const tokens = (await login.json()) as {
      accessToken: string;
      refreshToken: string;
      user: { id: string };
    };

    const me = await call("/api/auth/me", {
      headers: { authorization: `Bearer ${tokens.accessToken}` },
    });
    expect(await me.json()).toMatchObject({ id: tokens.user.id, email });

    const refreshed = await call("/api/auth/refresh", json({ refreshToken: tokens.refreshToken }));
    expect(refreshed.status).toBe(200);
    expect(
      (await call("/api/auth/refresh", json({ refreshToken: tokens.refreshToken }))).status,
    ).toBe(401);

    const jwks = await (await call("/.well-known/jwks.json")).json();
    const { payload } = await jwtVerify(tokens.accessToken, createLocalJWKSet(jwks as never), {
      issuer: "nearbase",
      audience: "nearbase",
      algorithms: ["EdDSA"],
    });
    expect(payload.sub).toBe(tokens.user.id);
  });

  it("uses a signed-in user for collection rules", async () => {
    const email = `wk2${Date.now()}@example.com`;
    const signup = (await (
      await call("/api/auth/signup", json({ email, password: "correct horse battery staple" }))
    ).json()) as { accessToken: string; user: { id: string } };
    const created = await call(
      "/api/collections/posts/records",
      json({ title: "from workerd" }, { authorization: `Bearer ${signup.accessToken}` }),
    );
    expect(created.status).toBe(201);
    expect(((await created.json()) as { author: string }).author).toBe(signup.user.id);
  });
});
