import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type FakeProviderName,
  fakeApple,
  fakeEntraTenant,
  fakeProviderClient,
  fakeProviderNames,
} from "./fake-oidc-client";
import { type Home, type MakeHome, readProblem, unique } from "./home";
import { providerHosts, routeProviderHostsTo } from "./oauth-hosts";

const publicUrl = "http://localhost:8787";
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

/**
 * One provider's protocol shape as the tests use it: where its consent page is, whether it takes
 * PKCE, and its profile in the provider's own field names — verified, unverified (or, where the
 * provider sends no address it has not confirmed, without one) — for an id and an address.
 */
interface ProviderCase {
  authorize: string;
  pkce: boolean;
  verified(id: string, email: string): Record<string, unknown>;
  unverified(id: string, email: string): Record<string, unknown>;
  /** What the unverified profile gets: 403 EMAIL_NOT_VERIFIED, or 400 "no email shared". */
  refusal: { status: number; code: string };
}

const notVerified = { status: 403, code: "EMAIL_NOT_VERIFIED" };
const noEmail = { status: 400, code: "BAD_REQUEST" };
const appleClaims = (sub: string) => ({
  iss: "https://appleid.apple.com",
  aud: fakeProviderClient("apple").id,
  exp: inAnHour(),
  sub,
});
const entraClaims = (sub: string) => ({
  iss: `https://login.microsoftonline.com/${fakeEntraTenant}/v2.0`,
  aud: fakeProviderClient("microsoft").id,
  exp: inAnHour(),
  tid: fakeEntraTenant,
  sub,
  name: "Entra Person",
});

const cases: Record<FakeProviderName, ProviderCase> = {
  apple: {
    authorize: "https://appleid.apple.com/auth/authorize",
    pkce: false,
    verified: (id, email) => ({ ...appleClaims(id), email, email_verified: "true" }),
    unverified: (id, email) => ({ ...appleClaims(id), email, email_verified: "false" }),
    refusal: notVerified,
  },
  microsoft: {
    authorize: `https://login.microsoftonline.com/${fakeEntraTenant}/oauth2/v2.0/authorize`,
    pkce: true,
    verified: (id, email) => ({ ...entraClaims(id), email, xms_edov: true }),
    // Entra's email attribute without the domain-verified claim: the nOAuth shape.
    unverified: (id, email) => ({ ...entraClaims(id), email }),
    refusal: notVerified,
  },
  discord: {
    authorize: "https://discord.com/oauth2/authorize",
    pkce: true,
    verified: (id, email) => ({
      id,
      username: "dis",
      global_name: "Dis Cord",
      email,
      verified: true,
    }),
    unverified: (id, email) => ({ id, username: "dis", email, verified: false }),
    refusal: notVerified,
  },
  gitlab: {
    authorize: "https://gitlab.com/oauth/authorize",
    pkce: false,
    verified: (id, email) => ({
      sub: id,
      name: "Git Lab",
      nickname: "gl",
      email,
      email_verified: true,
    }),
    unverified: (id, email) => ({ sub: id, nickname: "gl", email, email_verified: false }),
    refusal: notVerified,
  },
  facebook: {
    authorize: "https://www.facebook.com/v16.0/dialog/oauth",
    pkce: false,
    verified: (id, email) => ({ id, name: "Face Book", email }),
    // Graph leaves `email` out unless the address is confirmed.
    unverified: (id) => ({ id, name: "Face Book" }),
    refusal: noEmail,
  },
  x: {
    authorize: "https://twitter.com/i/oauth2/authorize",
    pkce: true,
    verified: (id, email) => ({ data: { id, name: "Ex", username: "ex", confirmed_email: email } }),
    unverified: (id) => ({ data: { id, name: "Ex", username: "ex" } }),
    refusal: noEmail,
  },
  linkedin: {
    authorize: "https://www.linkedin.com/oauth/v2/authorization",
    pkce: false,
    verified: (id, email) => ({ sub: id, name: "Linked In", email, email_verified: true }),
    unverified: (id, email) => ({ sub: id, name: "Linked In", email, email_verified: false }),
    refusal: notVerified,
  },
};

/** The app's settings for every built-in provider, each with the fake's client. */
function providerSettings(): Record<string, string> {
  const env: Record<string, string> = {
    OAUTH_APPLE_CLIENT_ID: fakeProviderClient("apple").id,
    OAUTH_APPLE_TEAM_ID: fakeApple.teamId,
    OAUTH_APPLE_KEY_ID: fakeApple.keyId,
    // As a one-line secret, with \n for the line breaks.
    OAUTH_APPLE_PRIVATE_KEY: fakeApple.privateKeyPem.replace(/\n/g, "\\n"),
    OAUTH_MICROSOFT_TENANT: fakeEntraTenant,
  };
  for (const name of fakeProviderNames) {
    if (name === "apple") continue;
    const prefix = `OAUTH_${name.toUpperCase()}`;
    env[`${prefix}_CLIENT_ID`] = fakeProviderClient(name).id;
    env[`${prefix}_CLIENT_SECRET`] = fakeProviderClient(name).secret;
  }
  return env;
}

/**
 * Sign-in with each built-in provider (Apple, Microsoft Entra ID, Discord, GitLab, Facebook, X,
 * LinkedIn) in every home: arctic's provider classes and our profile mapping against fake
 * providers on loopback (loopback-fakes.ts), reached at the providers' real URLs through
 * oauth-hosts.ts. Each provider: a verified address signs up and the provider's id finds the
 * account again; an unverified one (in that provider's shape) creates nothing.
 */
export function defineOAuthProvidersSuite(makeHome: MakeHome, fakesUrl: () => Promise<string>) {
  let t: Home;
  let fakes: string;
  let restoreFetch: () => void = () => {};
  beforeAll(async () => {
    fakes = await fakesUrl();
    restoreFetch = routeProviderHostsTo(fakes, providerHosts);
    t = await makeHome({ env: { ...providerSettings(), PUBLIC_URL: publicUrl } });
  });
  afterAll(async () => {
    restoreFetch();
    await t.close();
  });

  async function start(provider: string) {
    const res = await t.request(`/api/auth/oauth/${provider}/start`);
    expect(res.status, await res.clone().text()).toBe(302);
    return {
      location: new URL(res.headers.get("location")!),
      cookie: res.headers.get("set-cookie")!.split(";")[0]!,
    };
  }

  async function approve(provider: string, authorizeUrl: URL, profile: Record<string, unknown>) {
    const res = await fetch(`${fakes}/providers/__approve`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ provider, authorizeUrl: authorizeUrl.href, profile }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { code: string }).code;
  }

  /** The whole round trip: start, approve at the provider, come back (GET) to the callback. */
  async function signIn(provider: string, profile: Record<string, unknown>) {
    const { location, cookie } = await start(provider);
    const code = await approve(provider, location, profile);
    const state = location.searchParams.get("state")!;
    return t.request(
      `/api/auth/oauth/${provider}/callback?state=${encodeURIComponent(state)}&code=${encodeURIComponent(code)}`,
      { headers: { cookie } },
    );
  }

  describe("OAuth providers (arctic) and their profile mapping", () => {
    it("lists every configured provider in GET /api/auth/methods", async () => {
      const res = await t.request("/api/auth/methods");
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        providers: { name: string; displayName: string; startUrl: string }[];
      };
      const names = body.providers.map((p) => p.name).sort();
      expect(names).toEqual([...fakeProviderNames].sort());
      expect(body.providers).toContainEqual({
        name: "microsoft",
        displayName: "Microsoft",
        startUrl: `${publicUrl}/api/auth/oauth/microsoft/start`,
      });
    });

    for (const name of fakeProviderNames) {
      const c = cases[name];
      it(`${name}: sends the browser to the provider, signs up a verified address, finds the account again by the provider's id`, async () => {
        const { location } = await start(name);
        expect(location.origin + location.pathname).toBe(c.authorize);
        expect(location.searchParams.get("client_id")).toBe(fakeProviderClient(name).id);
        expect(location.searchParams.get("redirect_uri")).toBe(
          `${publicUrl}/api/auth/oauth/${name}/callback`,
        );
        expect(location.searchParams.get("state")).toBeTruthy();
        expect(location.searchParams.get("code_challenge_method")).toBe(c.pkce ? "S256" : null);

        const id = unique(`${name}-`);
        const local = unique(`${name}.person`);
        const res = await signIn(name, c.verified(id, `${local}@Example.com`));
        expect(res.status, await res.clone().text()).toBe(200);
        const first = (await res.json()) as {
          user: { id: string; email: string; emailVerified: boolean };
        };
        expect(first.user).toMatchObject({
          email: `${local.toLowerCase()}@example.com`,
          emailVerified: true,
        });
        // The provider's id, not the address, names the identity: a changed address finds it.
        const again = await signIn(name, c.verified(id, `${unique("moved")}@example.com`));
        expect(again.status).toBe(200);
        expect(((await again.json()) as { user: { id: string } }).user.id).toBe(first.user.id);
        const linked = await t.sql(
          "SELECT user_id FROM nb_oauth_accounts WHERE provider = ? AND provider_user_id = ?",
          [name, id],
        );
        expect(linked.map((r) => r.user_id)).toEqual([first.user.id]);
      });

      it(`${name}: never creates or links an account from an address the provider did not verify`, async () => {
        const email = `owner${unique("")}@example.com`;
        const signup = await t.request("/api/auth/signup", {
          method: "POST",
          json: { email, password: "correct horse battery staple" },
        });
        expect(signup.status).toBe(201);
        const fresh = `nobody${unique("")}@example.com`;
        for (const address of [email, fresh]) {
          const res = await signIn(name, c.unverified(unique(`${name}-squat-`), address));
          expect(res.status).toBe(c.refusal.status);
          expect((await readProblem(res)).code).toBe(c.refusal.code);
        }
        const users = await t.sql("SELECT count(*) AS n FROM nb_users WHERE email = ?", [fresh]);
        expect(Number(users[0]!.n)).toBe(0);
        const links = await t.sql(
          "SELECT count(*) AS n FROM nb_oauth_accounts o JOIN nb_users u ON u.id = o.user_id WHERE u.email = ?",
          [email],
        );
        expect(Number(links[0]!.n)).toBe(0);
      });
    }

    it("apple: the form POST return becomes a GET the nb_oauth cookie comes with", async () => {
      const { location, cookie } = await start("apple");
      expect(location.searchParams.get("response_mode")).toBe("form_post");
      const id = unique("apple-form-");
      const code = await approve(
        "apple",
        location,
        cases.apple.verified(id, `${unique("af")}@example.com`),
      );
      // Apple POSTs cross-site: the browser sends no SameSite=Lax cookie with it.
      const posted = await t.request("/api/auth/oauth/apple/callback", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          state: location.searchParams.get("state")!,
          code,
          user: '{"name":{"firstName":"Unsigned"}}',
        }).toString(),
      });
      expect(posted.status).toBe(303);
      const next = posted.headers.get("location")!;
      expect(next.startsWith("/api/auth/oauth/apple/callback?")).toBe(true);
      const res = await t.request(next, { headers: { cookie } });
      expect(res.status, await res.clone().text()).toBe(200);
    });

    it("apple and microsoft: an ID token for another client or issuer (or Entra tenant) signs no one in", async () => {
      const email = `${unique("idt")}@example.com`;
      for (const [provider, profile] of [
        ["apple", { ...cases.apple.verified(unique("a-"), email), aud: "someone-else" }],
        ["apple", { ...cases.apple.verified(unique("a-"), email), iss: "https://evil.example" }],
        ["apple", { ...cases.apple.verified(unique("a-"), email), exp: 1_000_000 }],
        ["microsoft", { ...cases.microsoft.verified(unique("m-"), email), aud: "someone-else" }],
        [
          "microsoft",
          {
            ...cases.microsoft.verified(unique("m-"), email),
            tid: "99999999-2222-3333-4444-555555555555",
            iss: "https://login.microsoftonline.com/99999999-2222-3333-4444-555555555555/v2.0",
          },
        ],
      ] as const) {
        const res = await signIn(provider, profile);
        expect(res.status, `${provider} ${JSON.stringify(profile)}`).toBe(401);
        expect((await readProblem(res)).code).toBe("UNAUTHENTICATED");
      }
      const users = await t.sql("SELECT count(*) AS n FROM nb_users WHERE email = ?", [email]);
      expect(Number(users[0]!.n)).toBe(0);
    });
  });
}
