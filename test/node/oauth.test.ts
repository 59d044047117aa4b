import { createHash } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, readProblem, type TestApp } from "../harness";

/**
 * A fake OpenID Connect provider on loopback: discovery, token endpoint (checks client
 * credentials, redirect_uri and the PKCE verifier against the challenge) and userinfo.
 */
async function fakeProvider() {
  const codes = new Map<
    string,
    { challenge: string; redirectUri: string; profile: Record<string, unknown> }
  >();
  const tokens = new Map<string, Record<string, unknown>>();
  const calls: string[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      const url = new URL(req.url ?? "/", base);
      calls.push(url.pathname);
      const send = (status: number, json: unknown) =>
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(json));
      if (url.pathname === "/.well-known/openid-configuration") {
        return send(200, {
          issuer: base,
          authorization_endpoint: `${base}/authorize`,
          token_endpoint: `${base}/token`,
          userinfo_endpoint: `${base}/userinfo`,
        });
      }
      if (url.pathname === "/token" && req.method === "POST") {
        const form = new URLSearchParams(body);
        const basic = Buffer.from(
          (req.headers.authorization ?? "").replace(/^Basic /, ""),
          "base64",
        ).toString();
        const clientOk =
          basic === "client-1:secret-1" ||
          (form.get("client_id") === "client-1" && form.get("client_secret") === "secret-1");
        const grant = codes.get(form.get("code") ?? "");
        codes.delete(form.get("code") ?? "");
        const verifier = form.get("code_verifier") ?? "";
        const challenge = createHash("sha256").update(verifier).digest("base64url");
        if (
          !clientOk ||
          grant === undefined ||
          grant.challenge !== challenge ||
          grant.redirectUri !== form.get("redirect_uri")
        ) {
          return send(400, { error: "invalid_grant" });
        }
        const token = `at-${Math.random().toString(36).slice(2)}`;
        tokens.set(token, grant.profile);
        return send(200, { access_token: token, token_type: "Bearer", expires_in: 3600 });
      }
      if (url.pathname === "/userinfo") {
        const profile = tokens.get((req.headers.authorization ?? "").replace(/^Bearer /, ""));
        return profile ? send(200, profile) : send(401, { error: "invalid_token" });
      }
      send(404, {});
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    calls,
    /** What the provider does when the user approves: mint a code bound to the PKCE challenge. */
    approve(authorizeUrl: URL, profile: Record<string, unknown>) {
      const code = `code-${Math.random().toString(36).slice(2)}`;
      codes.set(code, {
        challenge: authorizeUrl.searchParams.get("code_challenge")!,
        redirectUri: authorizeUrl.searchParams.get("redirect_uri")!,
        profile,
      });
      return code;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

let provider: Awaited<ReturnType<typeof fakeProvider>>;
let t: TestApp;
beforeAll(async () => {
  provider = await fakeProvider();
  t = await createTestApp({
    env: {
      OAUTH_OIDC_ISSUER: provider.base,
      OAUTH_OIDC_CLIENT_ID: "client-1",
      OAUTH_OIDC_CLIENT_SECRET: "secret-1",
      OAUTH_OIDC_NAME: "acme",
      PUBLIC_URL: "http://localhost:8787",
      CORS_ORIGINS: "http://app.localhost:5173",
    },
  });
});
afterAll(async () => {
  await t.close();
  await provider.close();
});

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
    const { location, cookie } = await start();
    expect(location.origin + location.pathname).toBe(`${provider.base}/authorize`);
    expect(location.searchParams.get("code_challenge_method")).toBe("S256");
    expect(location.searchParams.get("redirect_uri")).toBe(
      "http://localhost:8787/api/auth/oauth/acme/callback",
    );
    expect(cookie).toMatch(/^nb_oauth=/);
    const code = provider.approve(location, {
      sub: "acme-1",
      email: "New.Person@Example.com",
      email_verified: true,
      name: "New Person",
    });
    const res = await callback(location.searchParams.get("state")!, code, cookie);
    expect(res.status, await res.clone().text()).toBe(200);
    const body = (await res.json()) as {
      user: { email: string; emailVerified: boolean };
      accessToken: string;
    };
    expect(body.user).toMatchObject({ email: "new.person@example.com", emailVerified: true });
    expect(
      (
        await t.request("/api/auth/me", {
          headers: { authorization: `Bearer ${body.accessToken}` },
        })
      ).status,
    ).toBe(200);

    // Signing in again with the same provider account finds the same user.
    const again = await start();
    const code2 = provider.approve(again.location, {
      sub: "acme-1",
      email: "changed@example.com",
      email_verified: true,
    });
    const second = (await (
      await callback(again.location.searchParams.get("state")!, code2, again.cookie)
    ).json()) as { user: { id: string } };
    const first = (
      await t.client.execute("SELECT id FROM nb_users WHERE email = 'new.person@example.com'")
    ).rows[0]?.id;
    expect(second.user.id).toBe(first);
  });

  it("refuses a wrong state, a missing cookie and a tampered verifier", async () => {
    const { location, cookie } = await start();
    const code = provider.approve(location, {
      sub: "acme-2",
      email: "x@example.com",
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
    const email = `owner${Date.now()}@example.com`;
    const signup = await t.request("/api/auth/signup", {
      method: "POST",
      json: { email, password: "correct horse battery staple" },
    });
    const owner = ((await signup.json()) as { user: { id: string } }).user.id;

    const unverified = await start();
    const code1 = provider.approve(unverified.location, {
      sub: `attacker-${Date.now()}`,
      email,
      email_verified: false,
    });
    const refused = await callback(
      unverified.location.searchParams.get("state")!,
      code1,
      unverified.cookie,
    );
    expect(refused.status).toBe(409);

    const verified = await start();
    const code2 = provider.approve(verified.location, {
      sub: `real-${Date.now()}`,
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
    const email = `squatted${Date.now()}@example.com`;
    const password = "squatter password 123";
    const squatter = (await (
      await t.request("/api/auth/signup", { method: "POST", json: { email, password } })
    ).json()) as { refreshToken: string };
    // …then the real owner signs in with a provider that verified the address.
    const flow = await start();
    const code = provider.approve(flow.location, {
      sub: `owner-${Date.now()}`,
      email,
      email_verified: true,
    });
    const res = await callback(flow.location.searchParams.get("state")!, code, flow.cookie);
    expect(res.status).toBe(200);
    const login = await t.request("/api/auth/login", { method: "POST", json: { email, password } });
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
    const code = provider.approve(location, {
      sub: "acme-3",
      email: "spa@example.com",
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

  it("404s an unconfigured provider", async () => {
    expect((await t.request("/api/auth/oauth/github/start")).status).toBe(404);
  });
});
