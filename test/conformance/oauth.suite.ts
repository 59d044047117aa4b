import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakeOidcClient } from "./fake-oidc-client";
import { type Home, type MakeHome, readProblem, unique } from "./home";

/**
 * OAuth sign-in (authorization code + PKCE + state) in every home, against the fake OpenID
 * Connect provider on loopback (test/conformance/loopback-fakes.ts): the Node project starts it
 * in-process, the Workers project in its global setup, and the app reaches it over real HTTP.
 * `fakesUrl` gives its origin.
 */
export function defineOAuthSuite(makeHome: MakeHome, fakesUrl: () => Promise<string>) {
  let t: Home;
  let issuer: string;
  beforeAll(async () => {
    issuer = `${await fakesUrl()}/oidc`;
    t = await makeHome({
      env: {
        OAUTH_OIDC_ISSUER: issuer,
        OAUTH_OIDC_CLIENT_ID: fakeOidcClient.id,
        OAUTH_OIDC_CLIENT_SECRET: fakeOidcClient.secret,
        OAUTH_OIDC_NAME: "acme",
        PUBLIC_URL: "http://localhost:8787",
        CORS_ORIGINS: "http://app.localhost:5173",
      },
    });
  });
  afterAll(() => t.close());

  /** What the provider does when the user approves: mint a code bound to the PKCE challenge. */
  async function approve(authorizeUrl: URL, profile: Record<string, unknown>): Promise<string> {
    const res = await fetch(`${issuer}/__approve`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ authorizeUrl: authorizeUrl.href, profile }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { code: string }).code;
  }

  async function start(query = "") {
    const res = await t.request(`/api/auth/oauth/acme/start${query}`);
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get("location")!);
    const cookie = res.headers.get("set-cookie")!.split(";")[0]!;
    return { location, cookie };
  }

  const callback = (state: string, code: string, cookie?: string) =>
    t.request(
      `/api/auth/oauth/acme/callback?state=${encodeURIComponent(state)}&code=${encodeURIComponent(code)}`,
      { headers: cookie ? { cookie } : {} },
    );

  describe("OAuth sign-in (authorization code + PKCE + state)", () => {
    it("redirects to the provider with state and an S256 challenge, and signs in on return", async () => {
      const sub = unique("acme-");
      const local = unique("New.Person");
      const { location, cookie } = await start();
      expect(location.origin + location.pathname).toBe(`${issuer}/authorize`);
      expect(location.searchParams.get("code_challenge_method")).toBe("S256");
      expect(location.searchParams.get("redirect_uri")).toBe(
        "http://localhost:8787/api/auth/oauth/acme/callback",
      );
      expect(cookie).toMatch(/^nb_oauth=/);
      const code = await approve(location, {
        sub,
        email: `${local}@Example.com`,
        email_verified: true,
        name: "New Person",
      });
      const res = await callback(location.searchParams.get("state")!, code, cookie);
      expect(res.status, await res.clone().text()).toBe(200);
      const body = (await res.json()) as {
        user: { email: string; emailVerified: boolean };
        accessToken: string;
      };
      expect(body.user).toMatchObject({
        email: `${local.toLowerCase()}@example.com`,
        emailVerified: true,
      });
      expect(
        (
          await t.request("/api/auth/me", {
            headers: { authorization: `Bearer ${body.accessToken}` },
          })
        ).status,
      ).toBe(200);

      // Signing in again with the same provider account finds the same user.
      const again = await start();
      const code2 = await approve(again.location, {
        sub,
        email: `${unique("changed")}@example.com`,
        email_verified: true,
      });
      const second = (await (
        await callback(again.location.searchParams.get("state")!, code2, again.cookie)
      ).json()) as { user: { id: string } };
      const first = (
        await t.sql("SELECT id FROM nb_users WHERE email = ?", [
          `${local.toLowerCase()}@example.com`,
        ])
      )[0]?.id;
      expect(second.user.id).toBe(first);
    });

    it("refuses a wrong state, a missing cookie and a tampered verifier", async () => {
      const { location, cookie } = await start();
      const code = await approve(location, {
        sub: unique("acme-"),
        email: `${unique("x")}@example.com`,
        email_verified: true,
      });
      expect((await callback("forged-state", code, cookie)).status).toBe(400);
      expect((await callback(location.searchParams.get("state")!, code)).status).toBe(400);
      const [name, state] = cookie.replace("nb_oauth=", "").split(".");
      const tampered = `nb_oauth=${name}.${state}.wrong-verifier-wrong-verifier-wrong-verif.`;
      const res = await callback(location.searchParams.get("state")!, code, tampered);
      expect(res.status).toBe(401);
      expect((await readProblem(res)).code).toBe("UNAUTHENTICATED");
    });

    it("links to an existing account only when the provider verified the email", async () => {
      const email = `owner${unique("")}@example.com`;
      const signup = await t.request("/api/auth/signup", {
        method: "POST",
        json: { email, password: "correct horse battery staple" },
      });
      const owner = ((await signup.json()) as { user: { id: string } }).user.id;

      const unverified = await start();
      const code1 = await approve(unverified.location, {
        sub: `attacker-${unique("")}`,
        email,
        email_verified: false,
      });
      const refused = await callback(
        unverified.location.searchParams.get("state")!,
        code1,
        unverified.cookie,
      );
      // Refused exactly like an unverified email with no account: nothing says one exists.
      expect(refused.status).toBe(403);
      expect((await readProblem(refused)).code).toBe("EMAIL_NOT_VERIFIED");

      const verified = await start();
      const code2 = await approve(verified.location, {
        sub: `real-${unique("")}`,
        email,
        email_verified: true,
      });
      const linked = (await (
        await callback(verified.location.searchParams.get("state")!, code2, verified.cookie)
      ).json()) as { user: { id: string; emailVerified: boolean } };
      expect(linked.user.id).toBe(owner);
      expect(linked.user.emailVerified).toBe(true);
    });

    it("drops a squatter's password and sessions when the mailbox owner arrives by OAuth", async () => {
      // Someone signs up with an address they do not own, and never verifies it…
      const email = `squatted${unique("")}@example.com`;
      const password = "squatter password 123";
      const squatter = (await (
        await t.request("/api/auth/signup", { method: "POST", json: { email, password } })
      ).json()) as { refreshToken: string };
      // …then the real owner signs in with a provider that verified the address.
      const flow = await start();
      const code = await approve(flow.location, {
        sub: `owner-${unique("")}`,
        email,
        email_verified: true,
      });
      const res = await callback(flow.location.searchParams.get("state")!, code, flow.cookie);
      expect(res.status).toBe(200);
      const login = await t.request("/api/auth/login", {
        method: "POST",
        json: { email, password },
      });
      expect(login.status).toBe(401);
      const refresh = await t.request("/api/auth/refresh", {
        method: "POST",
        json: { refreshToken: squatter.refreshToken },
      });
      expect(refresh.status).toBe(401);
    });

    it("hands a browser app a single-use code on an allowed origin, never an open redirect", async () => {
      expect(
        (await t.request("/api/auth/oauth/acme/start?redirect=https://evil.example/cb")).status,
      ).toBe(400);
      const { location, cookie } = await start(
        `?redirect=${encodeURIComponent("http://app.localhost:5173/after-login")}`,
      );
      const code = await approve(location, {
        sub: unique("acme-"),
        email: `${unique("spa")}@example.com`,
        email_verified: true,
      });
      const res = await callback(location.searchParams.get("state")!, code, cookie);
      expect(res.status).toBe(302);
      const target = new URL(res.headers.get("location")!);
      expect(target.origin + target.pathname).toBe("http://app.localhost:5173/after-login");
      const loginCode = new URLSearchParams(target.hash.slice(1)).get("code")!;
      const exchange = await t.request("/api/auth/oauth/exchange", {
        method: "POST",
        json: { code: loginCode },
      });
      expect(exchange.status).toBe(200);
      expect(
        (await t.request("/api/auth/oauth/exchange", { method: "POST", json: { code: loginCode } }))
          .status,
      ).toBe(401);
    });

    it("never creates an account from an email the provider did not verify", async () => {
      const email = `unverified${unique("")}@example.com`;
      const flow = await start();
      const code = await approve(flow.location, {
        sub: `squatter-${unique("")}`,
        email,
        email_verified: false,
      });
      const res = await callback(flow.location.searchParams.get("state")!, code, flow.cookie);
      expect(res.status).toBe(403);
      expect((await readProblem(res)).code).toBe("EMAIL_NOT_VERIFIED");
      const rows = await t.sql("SELECT count(*) AS n FROM nb_users WHERE email = ?", [email]);
      expect(Number(rows[0]!.n)).toBe(0);
    });

    it("revokes a squatter's API keys when the mailbox owner arrives by OAuth", async () => {
      const email = `keysquat${unique("")}@example.com`;
      const squatter = (await (
        await t.request("/api/auth/signup", {
          method: "POST",
          json: { email, password: "squatter password 123" },
        })
      ).json()) as { accessToken: string };
      const key = (await (
        await t.request("/api/keys", {
          method: "POST",
          headers: { authorization: `Bearer ${squatter.accessToken}` },
          json: { name: "backdoor", scopes: ["read", "write"] },
        })
      ).json()) as { key: string };
      const flow = await start();
      const code = await approve(flow.location, {
        sub: `keyowner-${unique("")}`,
        email,
        email_verified: true,
      });
      expect(
        (await callback(flow.location.searchParams.get("state")!, code, flow.cookie)).status,
      ).toBe(200);
      const res = await t.request("/api/collections/posts/records", {
        headers: { "x-api-key": key.key },
      });
      expect(res.status).toBe(401);
    });

    /** The state the old code left behind: an account made by an identity with an unverified email. */
    async function legacySquat(email: string, sub: string) {
      const id = unique("usr_legacy");
      const at = new Date(Date.now() - 60_000).toISOString();
      await t.sql(
        "INSERT INTO nb_users (id, email, email_verified_at, password_hash, name, role, created, updated) VALUES (?, ?, NULL, NULL, '', 'user', ?, ?)",
        [id, email, at, at],
      );
      await t.sql(
        "INSERT INTO nb_oauth_accounts (provider, provider_user_id, user_id, created) VALUES ('acme', ?, ?, ?)",
        [sub, id, at],
      );
      return id;
    }

    async function signInAs(sub: string, email: string, verified: boolean) {
      const flow = await start();
      const code = await approve(flow.location, { sub, email, email_verified: verified });
      return callback(flow.location.searchParams.get("state")!, code, flow.cookie);
    }

    it("drops an identity linked before the owner proved the mailbox by a password reset", async () => {
      const email = `legacy-reset${unique("")}@example.com`;
      const sub = `attacker-reset-${unique("")}`;
      const id = await legacySquat(email, sub);
      // The squatter's identity signs in today…
      const before = await signInAs(sub, email, false);
      expect(before.status).toBe(200);
      const { refreshToken } = (await before.json()) as { refreshToken: string };
      // …then the mailbox owner resets the password through the mailed link.
      await t.request("/api/auth/password/forgot", { method: "POST", json: { email } });
      const token = /token=([\w-]+)/.exec((await t.mail(email)).at(-1)!.text)![1]!;
      const reset = await t.request("/api/auth/password/reset", {
        method: "POST",
        json: { token, password: "the owner's passphrase" },
      });
      expect(reset.status).toBe(204);
      const after = await signInAs(sub, email, false);
      expect(after.status).toBe(403);
      expect(
        (await t.request("/api/auth/refresh", { method: "POST", json: { refreshToken } })).status,
      ).toBe(401);
      const user = await t.sql("SELECT email_verified_at FROM nb_users WHERE id = ?", [id]);
      expect(user[0]!.email_verified_at).not.toBeNull();
    });

    it("drops an identity linked before the owner signed in with a verified provider", async () => {
      const email = `legacy-oauth${unique("")}@example.com`;
      const sub = `attacker-oauth-${unique("")}`;
      const id = await legacySquat(email, sub);
      const owner = await signInAs(`owner-oauth-${unique("")}`, email, true);
      expect(owner.status).toBe(200);
      expect(((await owner.json()) as { user: { id: string } }).user.id).toBe(id);
      const after = await signInAs(sub, email, false);
      expect(after.status).toBe(403);
    });

    it("drops an identity linked before the owner confirmed the address by mail", async () => {
      const email = `legacy-verify${unique("")}@example.com`;
      const sub = `attacker-verify-${unique("")}`;
      await legacySquat(email, sub);
      const squatter = (await (await signInAs(sub, email, false)).json()) as {
        accessToken: string;
      };
      // The squatter asks for a confirmation mail; it lands in the owner's mailbox.
      const asked = await t.request("/api/auth/email/verify/request", {
        method: "POST",
        headers: { authorization: `Bearer ${squatter.accessToken}` },
      });
      expect(asked.status).toBe(202);
      const token = /token=([\w-]+)/.exec((await t.mail(email)).at(-1)!.text)![1]!;
      const confirmed = await t.request("/api/auth/email/verify/confirm", {
        method: "POST",
        json: { token },
      });
      expect(confirmed.status).toBe(204);
      expect((await signInAs(sub, email, false)).status).toBe(403);
    });

    it("accepts a redirect with non-Latin-1 characters (or refuses it with 400), never a 500", async () => {
      const wanted = "http://app.localhost:5173/après/登录?x=ü";
      const { location, cookie } = await start(`?redirect=${encodeURIComponent(wanted)}`);
      const code = await approve(location, {
        sub: unique("acme-unicode"),
        email: `${unique("unicode")}@example.com`,
        email_verified: true,
      });
      const res = await callback(location.searchParams.get("state")!, code, cookie);
      expect(res.status).toBe(302);
      const target = new URL(res.headers.get("location")!);
      expect(target.origin + target.pathname + target.search).toBe(new URL(wanted).href);
      const refused = await t.request(
        `/api/auth/oauth/acme/start?redirect=${encodeURIComponent("https://évil.example/登录")}`,
      );
      expect(refused.status).toBe(400);
      expect((await readProblem(refused)).code).toBe("BAD_REQUEST");
    });

    it("sends tokens with Cache-Control: no-store and Pragma: no-cache", async () => {
      const res = await signInAs(`nostore-${unique("")}`, `nostore${unique("")}@example.com`, true);
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.headers.get("pragma")).toBe("no-cache");
    });

    it("refuses a provider profile with control characters", async () => {
      for (const profile of [
        {
          sub: unique("ctl-"),
          email: `ctl${unique("")}@example.com\u0000@evil.test`,
          email_verified: true,
        },
        {
          sub: `${unique("ctl")}\u00002`,
          email: `ctl2${unique("")}@example.com`,
          email_verified: true,
        },
        {
          sub: unique("ctl-"),
          email: `ctl3${unique("")}@example.com`,
          email_verified: true,
          name: "A\u202eB",
        },
      ]) {
        const flow = await start();
        const code = await approve(flow.location, profile);
        const res = await callback(flow.location.searchParams.get("state")!, code, flow.cookie);
        expect(res.status, JSON.stringify(profile)).toBe(400);
        await readProblem(res);
      }
    });

    it("404s an unconfigured provider", async () => {
      expect((await t.request("/api/auth/oauth/github/start")).status).toBe(404);
    });
  });
}
