import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { createRemoteJWKSet, generateKeyPair, jwtVerify, SignJWT, UnsecuredJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { hashPassword, verifyPassword } from "../../src/core/accounts/passwords";
import { base64url } from "../../src/core/kernel/crypto";
import { createTestApp, readProblem, type TestApp } from "../harness";

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
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const refresh = (refreshToken: string) =>
  t.request("/api/auth/refresh", { method: "POST", json: { refreshToken } });

describe("sign-up and log-in", () => {
  it("creates an account with a normalised email and returns working tokens", async () => {
    const res = await signup("  Grace.Hopper+x@EXAMPLE.org ");
    expect(res.user.email).toBe("grace.hopper+x@example.org");
    expect(res.user.id).toMatch(/^usr_/);
    expect(res.refreshToken).toMatch(/^[\w-]{43}$/);
    const me = await t.request("/api/auth/me", { headers: bearer(res.accessToken) });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({
      id: res.user.id,
      email: "grace.hopper+x@example.org",
      role: "user",
      emailVerified: false,
    });
    const stored = await t.client.execute({
      sql: "SELECT password_hash FROM nb_users WHERE id = ?",
      args: [res.user.id],
    });
    expect(String(stored.rows[0]?.password_hash)).toMatch(
      /^pbkdf2-sha256\$100000\$[\w-]{22}\$[\w-]{43}$/,
    );
  });

  it("refuses a second account for the same mailbox", async () => {
    const email = freshEmail();
    await signup(email);
    const again = await t.request("/api/auth/signup", {
      method: "POST",
      json: { email: email.toUpperCase(), password: strong },
    });
    expect(again.status).toBe(409);
    expect((await readProblem(again)).code).toBe("CONFLICT");
  });

  it("refuses weak, oversized and malformed input with field paths", async () => {
    const email = freshEmail();
    const cases: [Record<string, unknown>, string][] = [
      [{ email, password: "short" }, "/password"],
      [{ email, password: "password123" }, "/password"],
      [{ email, password: "aaaaaaaaaaaa" }, "/password"],
      [{ email, password: `${email.split("@")[0]}-secret!` }, "/password"],
      [{ email, password: "x".repeat(300) }, "/password"],
      [{ email: "not-an-email", password: strong }, "/email"],
      [{ email, password: strong, role: "admin" }, "/role"],
      [{ email, password: 12345678901 }, "/password"],
    ];
    for (const [json, path] of cases) {
      const res = await t.request("/api/auth/signup", { method: "POST", json });
      expect(res.status, JSON.stringify(json).slice(0, 80)).toBe(400);
      expect((await readProblem(res)).errors?.map((e) => e.path)).toContain(path);
    }
  });

  it("answers a wrong password and an unknown account the same way", async () => {
    const email = freshEmail();
    await signup(email);
    const wrong = await t.request("/api/auth/login", {
      method: "POST",
      json: { email, password: "wrong password here" },
    });
    const unknown = await t.request("/api/auth/login", {
      method: "POST",
      json: { email: freshEmail(), password: strong },
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const [a, b] = [await readProblem(wrong), await readProblem(unknown)];
    expect(a.detail).toBe(b.detail);
    const ok = await t.request("/api/auth/login", {
      method: "POST",
      json: { email, password: strong },
    });
    expect(ok.status).toBe(200);
  });

  it("upgrades an old hash at the next successful login", async () => {
    const { user } = await signup();
    // A hash with fewer iterations, as an older Nearbase would have stored it.
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const key = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(strong),
      "PBKDF2",
      false,
      ["deriveBits"],
    );
    const bits = new Uint8Array(
      await crypto.subtle.deriveBits(
        { name: "PBKDF2", hash: "SHA-256", salt, iterations: 50_000 },
        key,
        256,
      ),
    );
    await t.client.execute({
      sql: "UPDATE nb_users SET password_hash = ? WHERE id = ?",
      args: [`pbkdf2-sha256$50000$${base64url(salt)}$${base64url(bits)}`, user.id],
    });
    const res = await t.request("/api/auth/login", {
      method: "POST",
      json: { email: user.email, password: strong },
    });
    expect(res.status).toBe(200);
    const stored = await t.client.execute({
      sql: "SELECT password_hash FROM nb_users WHERE id = ?",
      args: [user.id],
    });
    expect(String(stored.rows[0]?.password_hash)).toMatch(/^pbkdf2-sha256\$100000\$/);
  });

  it("hashes at PASSWORD_ITERATIONS, never above Workers' PBKDF2 cap", async () => {
    const cheap = await createTestApp({ env: { PASSWORD_ITERATIONS: "20000" } });
    try {
      const email = freshEmail();
      const res = await cheap.request("/api/auth/signup", {
        method: "POST",
        json: { email, password: strong },
      });
      expect(res.status).toBe(201);
      const stored = await cheap.client.execute({
        sql: "SELECT password_hash FROM nb_users WHERE email = ?",
        args: [email.toLowerCase()],
      });
      expect(String(stored.rows[0]?.password_hash)).toMatch(/^pbkdf2-sha256\$20000\$/);
    } finally {
      await cheap.close();
    }
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

  it("throttles log-in attempts per account with 429 and Retry-After", async () => {
    const limited = await createTestApp({ env: { LOGIN_LIMIT_PER_ACCOUNT: "3/15m" } });
    try {
      const email = `victim${Date.now()}@example.com`;
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let i = 0; i < 4; i++) {
        last = await limited.request("/api/auth/login", {
          method: "POST",
          json: { email, password: `guess number ${i}!` },
        });
        statuses.push(last.status);
      }
      expect(statuses).toEqual([401, 401, 401, 429]);
      expect(Number(last!.headers.get("retry-after"))).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });

  it("throttles log-in and forgot-password per IP across accounts", async () => {
    const limited = await createTestApp({ env: { RATE_LIMIT_AUTH: "3/60s" } });
    try {
      const statuses: number[] = [];
      let last: Response | undefined;
      for (const path of ["login", "password/forgot", "login", "password/forgot"]) {
        last = await limited.request(`/api/auth/${path}`, {
          method: "POST",
          json:
            path === "login"
              ? { email: freshEmail(), password: "some guess 12345" }
              : { email: freshEmail() },
        });
        statuses.push(last.status);
      }
      expect(statuses).toEqual([401, 202, 401, 429]);
      expect((await readProblem(last!)).code).toBe("RATE_LIMITED");
      expect(Number(last!.headers.get("retry-after"))).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });
});

describe("refresh tokens", () => {
  it("rotate on every use", async () => {
    const first = await signup();
    const res = await refresh(first.refreshToken);
    expect(res.status).toBe(200);
    const second = (await res.json()) as {
      refreshToken: string;
      accessToken: string;
      sessionId: string;
    };
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.sessionId).toBe(first.sessionId);
    expect((await t.request("/api/auth/me", { headers: bearer(second.accessToken) })).status).toBe(
      200,
    );
    const stored = await t.client.execute("SELECT hash FROM nb_refresh_tokens");
    expect(JSON.stringify(stored.rows)).not.toContain(second.refreshToken);
  });

  it("revoke the whole family when a spent token is presented again", async () => {
    const first = await signup();
    const rotated = (await (await refresh(first.refreshToken)).json()) as { refreshToken: string };
    const replay = await refresh(first.refreshToken);
    expect(replay.status).toBe(401);
    // The legitimate holder's newer token is dead too: the family is revoked.
    const victim = await refresh(rotated.refreshToken);
    expect(victim.status).toBe(401);
    expect(
      t.log.events.some((e) => e.event === "refresh_token_reuse" && e.userId === first.user.id),
    ).toBe(true);
  });

  it("stop working after log-out, and after log-out everywhere", async () => {
    const a = await signup();
    expect(
      (await t.request("/api/auth/logout", { method: "POST", headers: bearer(a.accessToken) }))
        .status,
    ).toBe(204);
    expect((await refresh(a.refreshToken)).status).toBe(401);

    const email = freshEmail();
    const b1 = await signup(email);
    const b2 = (await (
      await t.request("/api/auth/login", { method: "POST", json: { email, password: strong } })
    ).json()) as { refreshToken: string; accessToken: string };
    const sessions = (await (
      await t.request("/api/auth/sessions", { headers: bearer(b2.accessToken) })
    ).json()) as { items: { id: string; current: boolean }[] };
    expect(sessions.items).toHaveLength(2);
    expect(sessions.items.filter((s) => s.current)).toHaveLength(1);
    expect(
      (await t.request("/api/auth/logout-all", { method: "POST", headers: bearer(b2.accessToken) }))
        .status,
    ).toBe(204);
    for (const token of [b1.refreshToken, b2.refreshToken]) {
      expect((await refresh(token)).status).toBe(401);
    }
  });

  it("can end one session by id, and not someone else's", async () => {
    const a = await signup();
    const other = await signup();
    expect(
      (
        await t.request(`/api/auth/sessions/${a.sessionId}`, {
          method: "DELETE",
          headers: bearer(other.accessToken),
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await t.request(`/api/auth/sessions/${a.sessionId}`, {
          method: "DELETE",
          headers: bearer(a.accessToken),
        })
      ).status,
    ).toBe(204);
    expect((await refresh(a.refreshToken)).status).toBe(401);
  });
});

describe("access tokens", () => {
  it("reject every kind of tampering", async () => {
    const { accessToken, user } = await signup();
    const [header, payload] = accessToken.split(".") as [string, string, string];
    const claims = JSON.parse(atob(payload.replaceAll("-", "+").replaceAll("_", "/"))) as Record<
      string,
      unknown
    >;
    const jwks = (await (await t.request("/.well-known/jwks.json")).json()) as {
      keys: { kid: string; x: string }[];
    };
    const kid = jwks.keys[0]!.kid;
    const foreign = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    const now = Math.floor(Date.now() / 1000);
    const sign = (
      over: Record<string, unknown>,
      key = foreign.privateKey,
      hdr: Record<string, unknown> = { alg: "EdDSA", kid, typ: "at+jwt" },
    ) => new SignJWT({ ...claims, ...over }).setProtectedHeader(hdr as never).sign(key);
    const hsKey = new TextEncoder().encode(jwks.keys[0]!.x);
    const forged = [
      new UnsecuredJWT({ ...claims }).encode(),
      `${btoa(JSON.stringify({ alg: "none", kid })).replace(/=+$/, "")}.${payload}.`,
      await new SignJWT({ ...claims })
        .setProtectedHeader({ alg: "HS256", kid, typ: "at+jwt" })
        .sign(hsKey),
      await sign({}),
      `${header}.${btoa(JSON.stringify({ ...claims, role: "admin" })).replace(/=+$/, "")}.${accessToken.split(".")[2]}`,
      accessToken.slice(0, -4) + (accessToken.endsWith("AAAA") ? "BBBB" : "AAAA"),
      "not.a.jwt",
      "",
    ];
    for (const token of forged) {
      const res = await t.request("/api/auth/me", { headers: bearer(token) });
      expect(res.status, token.slice(0, 40)).toBe(401);
    }
    // Right key, wrong claims: expired, wrong audience, wrong issuer, unknown kid.
    const localKey = await t.platform.secrets.get("JWT_PRIVATE_KEYS");
    const { importJWK } = await import("jose");
    const real = await importJWK(JSON.parse(localKey!)[0], "EdDSA");
    for (const over of [
      { exp: now - 60, iat: now - 1000 },
      { aud: "another-api" },
      { iss: "https://evil.test" },
    ]) {
      const res = await t.request("/api/auth/me", {
        headers: bearer(await sign(over, real as never)),
      });
      expect(res.status, JSON.stringify(over)).toBe(401);
    }
    const badKid = await sign({}, real as never, { alg: "EdDSA", kid: "nope", typ: "at+jwt" });
    expect((await t.request("/api/auth/me", { headers: bearer(badKid) })).status).toBe(401);
    // And the genuine one still works.
    const ok = await t.request("/api/auth/me", { headers: bearer(accessToken) });
    expect(((await ok.json()) as { id: string }).id).toBe(user.id);
  });

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

describe("API keys", () => {
  it("are shown once, stored hashed, work in both headers and respect scopes", async () => {
    const { accessToken, user } = await signup();
    const create = await t.request("/api/keys", {
      method: "POST",
      headers: bearer(accessToken),
      json: { name: "ci", scopes: ["read"] },
    });
    expect(create.status).toBe(201);
    const created = (await create.json()) as { id: string; key: string; prefix: string };
    expect(created.key).toMatch(/^nb_live_[\w-]{43}$/);
    expect(created.key.startsWith(created.prefix)).toBe(true);
    const rows = await t.client.execute("SELECT * FROM nb_api_keys");
    expect(JSON.stringify(rows.rows)).not.toContain(created.key);
    const list = (await (
      await t.request("/api/keys", { headers: bearer(accessToken) })
    ).json()) as { items: Record<string, unknown>[] };
    expect(JSON.stringify(list)).not.toContain(created.key);

    const read = await t.request("/api/collections/bookmarks/records", {
      headers: { "x-api-key": created.key },
    });
    expect(read.status).toBe(200);
    const readBearer = await t.request("/api/collections/posts/records", {
      headers: bearer(created.key),
    });
    expect(readBearer.status).toBe(200);
    const write = await t.request("/api/collections/posts/records", {
      method: "POST",
      headers: { "x-api-key": created.key },
      json: { title: "x" },
    });
    expect(write.status).toBe(403);

    const writer = (await (
      await t.request("/api/keys", {
        method: "POST",
        headers: bearer(accessToken),
        json: { name: "w", scopes: ["write"] },
      })
    ).json()) as { key: string; id: string };
    const post = await t.request("/api/collections/posts/records", {
      method: "POST",
      headers: { "x-api-key": writer.key },
      json: { title: "by key" },
    });
    expect(post.status).toBe(201);
    expect(((await post.json()) as { author: string }).author).toBe(user.id);

    expect(
      (
        await t.request(`/api/keys/${created.id}`, {
          method: "DELETE",
          headers: bearer(accessToken),
        })
      ).status,
    ).toBe(204);
    expect(
      (await t.request("/api/collections/posts/records", { headers: { "x-api-key": created.key } }))
        .status,
    ).toBe(401);
    expect(
      (
        await t.request("/api/collections/posts/records", {
          headers: { "x-api-key": "nb_live_madeup" },
        })
      ).status,
    ).toBe(401);
  });

  it("cannot be managed without a user token", async () => {
    expect((await t.request("/api/keys")).status).toBe(401);
    const bad = await t.request("/api/keys", {
      method: "POST",
      headers: bearer((await signup()).accessToken),
      json: { name: "x", scopes: ["root"] },
    });
    expect(bad.status).toBe(400);
  });
});

describe("recovery and verification mail", () => {
  const tokenFrom = (text: string) => /#token=([\w-]+)/.exec(text)?.[1];

  it("resets a password with a single-use link, signing out every device", async () => {
    const email = freshEmail();
    const account = await signup(email);
    const unknown = await t.request("/api/auth/password/forgot", {
      method: "POST",
      json: { email: freshEmail() },
    });
    const known = await t.request("/api/auth/password/forgot", { method: "POST", json: { email } });
    expect(unknown.status).toBe(202);
    expect(known.status).toBe(202);
    expect(await unknown.json()).toEqual(await known.json());
    await t.platform.settle(); // the link is stored and mailed after the response
    const mail = t.mail.filter((m) => m.to === email.toLowerCase());
    expect(mail).toHaveLength(1);
    const token = tokenFrom(mail[0]!.text)!;
    expect(token).toBeTruthy();

    const weak = await t.request("/api/auth/password/reset", {
      method: "POST",
      json: { token, password: "short" },
    });
    expect(weak.status).toBe(400);
    const forgot2 = await t.request("/api/auth/password/forgot", {
      method: "POST",
      json: { email },
    });
    expect(forgot2.status).toBe(202);
    await t.platform.settle();
    const token2 = tokenFrom(t.mail.at(-1)!.text)!;
    const reset = await t.request("/api/auth/password/reset", {
      method: "POST",
      json: { token: token2, password: "a brand new passphrase" },
    });
    expect(reset.status).toBe(204);
    expect(
      (
        await t.request("/api/auth/password/reset", {
          method: "POST",
          json: { token: token2, password: "another new passphrase" },
        })
      ).status,
    ).toBe(400);
    expect((await refresh(account.refreshToken)).status).toBe(401);
    expect(
      (await t.request("/api/auth/login", { method: "POST", json: { email, password: strong } }))
        .status,
    ).toBe(401);
    expect(
      (
        await t.request("/api/auth/login", {
          method: "POST",
          json: { email, password: "a brand new passphrase" },
        })
      ).status,
    ).toBe(200);
  });

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

  it("verifies an email address", async () => {
    const account = await signup();
    const request = await t.request("/api/auth/email/verify/request", {
      method: "POST",
      headers: bearer(account.accessToken),
    });
    expect(request.status).toBe(202);
    await t.platform.settle();
    const token = tokenFrom(t.mail.at(-1)!.text)!;
    expect(
      (await t.request("/api/auth/email/verify/confirm", { method: "POST", json: { token } }))
        .status,
    ).toBe(204);
    const me = (await (
      await t.request("/api/auth/me", { headers: bearer(account.accessToken) })
    ).json()) as { emailVerified: boolean };
    expect(me.emailVerified).toBe(true);
  });

  it("never writes passwords or tokens to the log", async () => {
    const email = freshEmail();
    const account = await signup(email);
    await t.request("/api/auth/login", { method: "POST", json: { email, password: strong } });
    await t.request("/api/auth/login", {
      method: "POST",
      json: { email, password: "a wrong passphrase!" },
    });
    await refresh(account.refreshToken);
    await refresh(account.refreshToken);
    const key = (await (
      await t.request("/api/keys", {
        method: "POST",
        headers: bearer(account.accessToken),
        json: { name: "k", scopes: ["read"] },
      })
    ).json()) as { key: string };
    await t.request("/api/collections/posts/records", { headers: { "x-api-key": key.key } });
    await t.request("/api/auth/password/forgot", { method: "POST", json: { email } });
    await t.platform.settle();
    const everything = JSON.stringify(t.log.events);
    expect(everything).not.toContain(account.refreshToken);
    expect(everything).not.toContain(account.accessToken);
    expect(everything).not.toContain(key.key);
    expect(everything).not.toContain("a wrong passphrase!");
    expect(everything).not.toContain(strong);
    expect(everything).not.toContain("a brand new passphrase");
    for (const m of t.mail) expect(everything).not.toContain(tokenFrom(m.text)!);
    expect(everything).not.toMatch(/nb_live_[\w-]{20}/);
    expect(everything).not.toMatch(/eyJ[\w-]+\.eyJ/);
  });
});
