import {
  createLocalJWKSet,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  UnsecuredJWT,
} from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { base64url } from "../../src/core/kernel/crypto";
import { bearer, forgot, freshEmail, lastLink, refresh, signup, strong } from "./auth-helpers";
import { type Home, type MakeHome, readProblem, unique } from "./home";

/**
 * Accounts over HTTP in every home: sign-up, log-in and its throttles, refresh rotation and
 * reuse, log-out (one, all, by session), token tampering, API keys, recovery and verification
 * mail, what the log never holds. What needs a Node-only hook (a moved clock, the default
 * hashing cost, a real socket) stays in test/node/auth.test.ts.
 */
export function defineAuthSuite(makeHome: MakeHome) {
  let t: Home;
  beforeAll(async () => {
    t = await makeHome({
      env: {
        JWT_ISSUER: "https://auth.nearbase.test",
        JWT_AUDIENCE: "nearbase-api",
        PUBLIC_URL: "http://localhost:8787",
      },
    });
  });
  afterAll(() => t.close());

  const storedHash = async (where: string, arg: string) =>
    String(
      (await t.sql(`SELECT password_hash FROM nb_users WHERE ${where} = ?`, [arg]))[0]
        ?.password_hash,
    );

  describe("sign-up and log-in", () => {
    it("creates an account with a normalised email and returns working tokens", async () => {
      const local = `Grace.Hopper+${unique("x")}`;
      const res = await signup(t, `  ${local}@EXAMPLE.org `, strong, { name: "Ada" });
      const normalised = `${local.toLowerCase()}@example.org`;
      expect(res.user.email).toBe(normalised);
      expect(res.user.id).toMatch(/^usr_/);
      expect(res.refreshToken).toMatch(/^[\w-]{43}$/);
      const me = await t.request("/api/auth/me", { headers: bearer(res.accessToken) });
      expect(me.status).toBe(200);
      expect(await me.json()).toMatchObject({
        id: res.user.id,
        email: normalised,
        role: "user",
        emailVerified: false,
      });
      // PBKDF2-SHA256 at the configured iterations (the homes' PASSWORD_ITERATIONS, 10,000),
      // a 16-byte salt and a 32-byte hash.
      expect(await storedHash("id", res.user.id)).toMatch(
        /^pbkdf2-sha256\$10000\$[\w-]{22}\$[\w-]{43}$/,
      );
    });

    it("refuses a second account for the same mailbox", async () => {
      const email = freshEmail();
      await signup(t, email);
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

    it("refuses a body that is not JSON with a problem", async () => {
      const malformed = await t.request("/api/auth/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{not json",
      });
      expect(malformed.status).toBe(400);
      expect((await readProblem(malformed)).code).toBe("INVALID_JSON");
    });

    it("answers a wrong password and an unknown account the same way", async () => {
      const email = freshEmail();
      await signup(t, email);
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

    it("upgrades a hash made with other parameters at the next successful login", async () => {
      const { user } = await signup(t);
      // A hash with other iterations than the configured ones, as an older Nearbase (or an
      // older PASSWORD_ITERATIONS) would have stored it.
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
      await t.sql("UPDATE nb_users SET password_hash = ? WHERE id = ?", [
        `pbkdf2-sha256$50000$${base64url(salt)}$${base64url(bits)}`,
        user.id,
      ]);
      const res = await t.request("/api/auth/login", {
        method: "POST",
        json: { email: user.email, password: strong },
      });
      expect(res.status).toBe(200);
      expect(await storedHash("id", user.id)).toMatch(/^pbkdf2-sha256\$10000\$/);
    });

    it("hashes at PASSWORD_ITERATIONS", async () => {
      const cheap = await makeHome({ env: { PASSWORD_ITERATIONS: "20000" } });
      try {
        const email = freshEmail();
        const res = await cheap.request("/api/auth/signup", {
          method: "POST",
          json: { email, password: strong },
        });
        expect(res.status).toBe(201);
        const stored = await cheap.sql("SELECT password_hash FROM nb_users WHERE email = ?", [
          email.toLowerCase(),
        ]);
        expect(String(stored[0]?.password_hash)).toMatch(/^pbkdf2-sha256\$20000\$/);
      } finally {
        await cheap.close();
      }
    });

    it("throttles log-in attempts per account with 429 and Retry-After", async () => {
      const limited = await makeHome({ env: { LOGIN_LIMIT_PER_ACCOUNT: "3/15m" } });
      try {
        const email = freshEmail("victim");
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
      const limited = await makeHome({ env: { RATE_LIMIT_AUTH: "3/60s" } });
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
      const first = await signup(t);
      const res = await refresh(t, first.refreshToken);
      expect(res.status).toBe(200);
      const second = (await res.json()) as {
        refreshToken: string;
        accessToken: string;
        sessionId: string;
      };
      expect(second.refreshToken).not.toBe(first.refreshToken);
      expect(second.sessionId).toBe(first.sessionId);
      expect(
        (await t.request("/api/auth/me", { headers: bearer(second.accessToken) })).status,
      ).toBe(200);
      const stored = await t.sql("SELECT hash FROM nb_refresh_tokens");
      expect(JSON.stringify(stored)).not.toContain(second.refreshToken);
    });

    it("revoke the whole family when a spent token is presented again", async () => {
      const first = await signup(t);
      const rotated = (await (await refresh(t, first.refreshToken)).json()) as {
        refreshToken: string;
      };
      const replay = await refresh(t, first.refreshToken);
      expect(replay.status).toBe(401);
      // The legitimate holder's newer token is dead too: the family is revoked.
      const victim = await refresh(t, rotated.refreshToken);
      expect(victim.status).toBe(401);
      expect(
        (await t.logs()).some(
          (e) => e.event === "refresh_token_reuse" && e.userId === first.user.id,
        ),
      ).toBe(true);
    });

    it("stop working after log-out, and after log-out everywhere", async () => {
      const a = await signup(t);
      expect(
        (await t.request("/api/auth/logout", { method: "POST", headers: bearer(a.accessToken) }))
          .status,
      ).toBe(204);
      expect((await refresh(t, a.refreshToken)).status).toBe(401);

      const email = freshEmail();
      const b1 = await signup(t, email);
      const b2 = (await (
        await t.request("/api/auth/login", { method: "POST", json: { email, password: strong } })
      ).json()) as { refreshToken: string; accessToken: string };
      const sessions = (await (
        await t.request("/api/auth/sessions", { headers: bearer(b2.accessToken) })
      ).json()) as { items: { id: string; current: boolean }[] };
      expect(sessions.items).toHaveLength(2);
      expect(sessions.items.filter((s) => s.current)).toHaveLength(1);
      expect(
        (
          await t.request("/api/auth/logout-all", {
            method: "POST",
            headers: bearer(b2.accessToken),
          })
        ).status,
      ).toBe(204);
      for (const token of [b1.refreshToken, b2.refreshToken]) {
        expect((await refresh(t, token)).status).toBe(401);
      }
    });

    it("can end one session by id, and not someone else's", async () => {
      const a = await signup(t);
      const other = await signup(t);
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
      expect((await refresh(t, a.refreshToken)).status).toBe(401);
    });
  });

  describe("access tokens", () => {
    it("reject every kind of tampering", async () => {
      const { accessToken, user } = await signup(t);
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
        key: CryptoKey | Uint8Array = foreign.privateKey,
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
        expect((await readProblem(res)).code).toBe("UNAUTHENTICATED");
      }
      // Right key, wrong claims: expired, wrong audience, wrong issuer, unknown kid.
      const localKey = await t.secret("JWT_PRIVATE_KEYS");
      const real = (await importJWK(JSON.parse(localKey!)[0], "EdDSA")) as CryptoKey;
      for (const over of [
        { exp: now - 60, iat: now - 1000 },
        { aud: "another-api" },
        { iss: "https://evil.test" },
      ]) {
        const res = await t.request("/api/auth/me", { headers: bearer(await sign(over, real)) });
        expect(res.status, JSON.stringify(over)).toBe(401);
      }
      const badKid = await sign({}, real, { alg: "EdDSA", kid: "nope", typ: "at+jwt" });
      expect((await t.request("/api/auth/me", { headers: bearer(badKid) })).status).toBe(401);
      // And the genuine one still works.
      const ok = await t.request("/api/auth/me", { headers: bearer(accessToken) });
      expect(((await ok.json()) as { id: string }).id).toBe(user.id);
    });

    it("verify with an independent JWKS consumer, and discovery is built from PUBLIC_URL", async () => {
      const { accessToken, user } = await signup(t);
      const published = (await (await t.request("/.well-known/jwks.json")).json()) as {
        keys: Record<string, unknown>[];
      };
      const { payload, protectedHeader } = await jwtVerify(
        accessToken,
        createLocalJWKSet(published as never),
        { issuer: "https://auth.nearbase.test", audience: "nearbase-api", algorithms: ["EdDSA"] },
      );
      expect(payload.sub).toBe(user.id);
      expect(protectedHeader.kid).toBeTruthy();
      expect(published.keys.every((k) => k.d === undefined)).toBe(true);
      const meta = (await (await t.request("/.well-known/openid-configuration")).json()) as {
        jwks_uri: string;
        issuer: string;
      };
      expect(meta.issuer).toBe("https://auth.nearbase.test");
      // Discovery is built from PUBLIC_URL, never from the Host the request came to.
      expect(meta.jwks_uri).toBe("http://localhost:8787/.well-known/jwks.json");
    });
  });

  describe("API keys", () => {
    it("are shown once, stored hashed, work in both headers and respect scopes", async () => {
      const { accessToken, user } = await signup(t);
      const create = await t.request("/api/keys", {
        method: "POST",
        headers: bearer(accessToken),
        json: { name: "ci", scopes: ["read"] },
      });
      expect(create.status).toBe(201);
      const created = (await create.json()) as { id: string; key: string; prefix: string };
      expect(created.key).toMatch(/^nb_live_[\w-]{43}$/);
      expect(created.key.startsWith(created.prefix)).toBe(true);
      const rows = await t.sql("SELECT * FROM nb_api_keys WHERE user_id = ?", [user.id]);
      expect(rows).toHaveLength(1);
      expect(JSON.stringify(rows)).not.toContain(created.key);
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
        (
          await t.request("/api/collections/posts/records", {
            headers: { "x-api-key": created.key },
          })
        ).status,
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
        headers: bearer((await signup(t)).accessToken),
        json: { name: "x", scopes: ["root"] },
      });
      expect(bad.status).toBe(400);
    });
  });

  describe("recovery and verification mail", () => {
    it("resets a password with a single-use link, signing out every device", async () => {
      const email = freshEmail();
      const mailbox = email.toLowerCase();
      const account = await signup(t, email);
      const unknown = await t.request("/api/auth/password/forgot", {
        method: "POST",
        json: { email: freshEmail() },
      });
      const known = await t.request("/api/auth/password/forgot", {
        method: "POST",
        json: { email },
      });
      expect(unknown.status).toBe(202);
      expect(known.status).toBe(202);
      expect(await unknown.json()).toEqual(await known.json());
      // The link is stored and mailed after the response; mail() waits for it.
      expect(await t.mail(mailbox)).toHaveLength(1);
      const token = (await lastLink(t, email))!;
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
      const token2 = (await lastLink(t, email))!;
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
      expect((await refresh(t, account.refreshToken)).status).toBe(401);
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

    it("expires reset links 30 minutes after they are made", async () => {
      // The Node home also lets the clock run past them (test/node/auth.test.ts); here the
      // stored expiry is read, then moved into the past as time would move it.
      const { email, user } = await signup(t);
      const before = Date.now();
      const token = await forgot(t, email);
      const after = Date.now();
      const rows = await t.sql(
        "SELECT rowid AS id, expires_at FROM nb_one_time_tokens WHERE user_id = ? AND purpose = 'password_reset'",
        [user.id],
      );
      expect(rows).toHaveLength(1);
      const expires = Number(rows[0]!.expires_at);
      expect(expires).toBeGreaterThanOrEqual(before + 30 * 60_000);
      expect(expires).toBeLessThanOrEqual(after + 30 * 60_000);
      await t.sql("UPDATE nb_one_time_tokens SET expires_at = ? WHERE rowid = ?", [
        Date.now() - 1000,
        Number(rows[0]!.id),
      ]);
      const res = await t.request("/api/auth/password/reset", {
        method: "POST",
        json: { token, password: "a brand new passphrase" },
      });
      expect(res.status).toBe(400);
    });

    it("verifies an email address", async () => {
      const account = await signup(t);
      const request = await t.request("/api/auth/email/verify/request", {
        method: "POST",
        headers: bearer(account.accessToken),
      });
      expect(request.status).toBe(202);
      const token = (await lastLink(t, account.email))!;
      expect(token).toBeTruthy();
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
      const account = await signup(t, email);
      await t.request("/api/auth/login", { method: "POST", json: { email, password: strong } });
      await t.request("/api/auth/login", {
        method: "POST",
        json: { email, password: "a wrong passphrase!" },
      });
      await refresh(t, account.refreshToken);
      await refresh(t, account.refreshToken);
      const key = (await (
        await t.request("/api/keys", {
          method: "POST",
          headers: bearer(account.accessToken),
          json: { name: "k", scopes: ["read"] },
        })
      ).json()) as { key: string };
      await t.request("/api/collections/posts/records", { headers: { "x-api-key": key.key } });
      await t.request("/api/auth/password/forgot", { method: "POST", json: { email } });
      const mail = await t.mail(email.toLowerCase());
      expect(mail.length).toBeGreaterThan(0);
      const logs = await t.logs();
      // The log was read: the replayed refresh token is there, as an event without the token.
      expect(logs.some((e) => e.event === "refresh_token_reuse")).toBe(true);
      const everything = JSON.stringify(logs);
      expect(everything).not.toContain(account.refreshToken);
      expect(everything).not.toContain(account.accessToken);
      expect(everything).not.toContain(key.key);
      expect(everything).not.toContain("a wrong passphrase!");
      expect(everything).not.toContain(strong);
      expect(everything).not.toContain("a brand new passphrase");
      for (const m of mail) {
        const token = /token=([\w-]+)/.exec(m.text)?.[1];
        expect(token).toBeTruthy();
        expect(everything).not.toContain(token!);
      }
      expect(everything).not.toMatch(/nb_live_[\w-]{20}/);
      expect(everything).not.toMatch(/eyJ[\w-]+\.eyJ/);
    });
  });
}
