import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, createKey, forgot, freshEmail, signup, strong } from "./auth-helpers";
import { type Home, type MakeHome, readProblem, uniqueAddress } from "./home";

/**
 * Regression tests for the security review (issue 10), auth and HTTP-surface half, in every
 * home. What needs a Node-only hook (the harness's revoke verb, a moved clock, X-Forwarded-For
 * behind a trusted proxy, units without HTTP) stays in test/node/security-auth.test.ts.
 */
export function defineSecurityAuthSuite(makeHome: MakeHome) {
  let t: Home;
  beforeAll(async () => {
    t = await makeHome({ env: { PUBLIC_URL: "https://api.example.test" } });
  });
  afterAll(() => t.close());

  /** A home with other settings for one test, closed after it. */
  async function withHome(
    options: Parameters<MakeHome>[0],
    test: (home: Home) => Promise<void>,
  ): Promise<void> {
    const home = await makeHome(options);
    try {
      await test(home);
    } finally {
      await home.close();
    }
  }

  const keyOf = async (res: Response) => ((await res.json()) as { key: string }).key;

  describe("one verb revokes every credential (issue 10 #3)", () => {
    it("a password reset revokes API keys, sessions and refresh families", async () => {
      const { email, accessToken, refreshToken } = await signup(t, freshEmail("sec"));
      const key = await keyOf(await createKey(t, accessToken));
      expect(
        (await t.request("/api/auth/sessions", { headers: { "x-api-key": key } })).status,
      ).toBe(
        401, // a key is not a user session; but it can read collections:
      );
      expect(
        (await t.request("/api/collections/posts/records", { headers: { "x-api-key": key } }))
          .status,
      ).toBe(200);
      const token = await forgot(t, email);
      const reset = await t.request("/api/auth/password/reset", {
        method: "POST",
        json: { token, password: "a brand new passphrase" },
      });
      expect(reset.status).toBe(204);
      const afterKey = await t.request("/api/collections/posts/records", {
        headers: { "x-api-key": key },
      });
      expect(afterKey.status).toBe(401);
      const afterRefresh = await t.request("/api/auth/refresh", {
        method: "POST",
        json: { refreshToken },
      });
      expect(afterRefresh.status).toBe(401);
    });

    it("sign-out everywhere revokes API keys too", async () => {
      const { accessToken } = await signup(t, freshEmail("sec"));
      const key = await keyOf(await createKey(t, accessToken));
      const out = await t.request("/api/auth/logout-all", {
        method: "POST",
        headers: bearer(accessToken),
      });
      expect(out.status).toBe(204);
      const res = await t.request("/api/collections/posts/records", {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(res.status).toBe(401);
    });
  });

  describe("single-use links (issue 10, low)", () => {
    it("spending one reset link kills the older ones", async () => {
      const { email } = await signup(t, freshEmail("sec"));
      const older = await forgot(t, email);
      const newer = await forgot(t, email);
      expect(older).not.toBe(newer);
      const first = await t.request("/api/auth/password/reset", {
        method: "POST",
        json: { token: newer, password: "first new passphrase" },
      });
      expect(first.status).toBe(204);
      const replay = await t.request("/api/auth/password/reset", {
        method: "POST",
        json: { token: older, password: "attacker passphrase 1" },
      });
      expect(replay.status).toBe(400);
      expect((await readProblem(replay)).code).toBe("BAD_REQUEST");
    });

    it("a weak password does not cost the user the link", async () => {
      const { email } = await signup(t, freshEmail("sec"));
      const token = await forgot(t, email);
      const weak = await t.request("/api/auth/password/reset", {
        method: "POST",
        json: { token, password: "short" },
      });
      expect(weak.status).toBe(400);
      const ok = await t.request("/api/auth/password/reset", {
        method: "POST",
        json: { token, password: "a long enough passphrase" },
      });
      expect(ok.status).toBe(204);
    });
  });

  describe("emails and names are validated strictly (issue 10 #9)", () => {
    it("refuses an email with NUL or control characters at every entry point", async () => {
      const victim = freshEmail("sec");
      await signup(t, victim);
      // Stored as is, these read back (or are mailed) as the victim's address.
      const forged = `${victim}\u0000.attacker.test`;
      for (const [path, json] of [
        ["/api/auth/signup", { email: forged, password: strong }],
        ["/api/auth/signup", { email: `${victim}\u0000`, password: strong }],
        ["/api/auth/signup", { email: `${victim}\u0007`, password: strong }],
        ["/api/auth/login", { email: forged, password: strong }],
        ["/api/auth/password/forgot", { email: forged }],
      ] as const) {
        const res = await t.request(path, { method: "POST", json });
        expect(res.status, `${path} ${JSON.stringify(json)}`).toBe(400);
        const problem = await readProblem(res);
        expect(problem.code).toBe("VALIDATION_FAILED");
        expect(problem.errors?.[0]?.path).toBe("/email");
      }
      const rows = await t.sql("SELECT email FROM nb_users WHERE instr(email, ?) > 0", [
        victim.toLowerCase(),
      ]);
      expect(rows).toHaveLength(1);
      expect(rows.every((r) => !String(r.email).includes("\u0000"))).toBe(true);
    });

    it("refuses control characters in names (sign-up, API keys)", async () => {
      const res = await t.request("/api/auth/signup", {
        method: "POST",
        json: { email: freshEmail("sec"), password: strong, name: "Ada\u0000Admin" },
      });
      expect(res.status).toBe(400);
      expect((await readProblem(res)).errors?.[0]?.path).toBe("/name");
      const { accessToken } = await signup(t, freshEmail("sec"));
      const key = await t.request("/api/keys", {
        method: "POST",
        headers: bearer(accessToken),
        json: { name: "ci\u202eyek", scopes: ["read"] },
      });
      expect(key.status).toBe(400);
    });
  });

  describe("discovery document (issue 10 #7)", () => {
    it("builds every URL from PUBLIC_URL, whatever Host the request carries", async () => {
      const res = await t.request("http://evil.example/.well-known/openid-configuration", {
        headers: { host: "evil.example", "x-forwarded-host": "evil.example" },
      });
      expect(res.status).toBe(200);
      const meta = (await res.json()) as Record<string, string>;
      expect(meta.jwks_uri).toBe("https://api.example.test/.well-known/jwks.json");
      expect(meta.token_endpoint).toBe("https://api.example.test/api/auth/login");
      expect(JSON.stringify(meta)).not.toContain("evil");
    });
  });

  describe("API keys and rate limits (issue 10, low)", () => {
    it("an API key spends its owner's read budget", async () => {
      await withHome({ env: { RATE_LIMIT_READ: "3/60s" } }, async (home) => {
        const user = await home.signIn();
        const key = await keyOf(await createKey(home, user.accessToken));
        const read = (headers: Record<string, string>) =>
          home.request("/api/collections/posts/records", { headers });
        expect((await read(user.headers)).status).toBe(200);
        expect((await read(user.headers)).status).toBe(200);
        expect((await read({ "x-api-key": key })).status).toBe(200);
        const over = await read({ "x-api-key": key });
        expect(over.status).toBe(429);
        expect((await read(user.headers)).status).toBe(429);
      });
    });

    it("caps active keys per user with a stable problem code", async () => {
      const user = await t.signIn();
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) {
        const res = await createKey(t, user.accessToken, ["read"]);
        expect(res.status).toBe(201);
        ids.push(((await res.json()) as { id: string }).id);
      }
      const over = await createKey(t, user.accessToken, ["read"]);
      expect(over.status).toBe(409);
      expect((await readProblem(over)).code).toBe("API_KEY_LIMIT");
      const revoke = await t.request(`/api/keys/${ids[0]}`, {
        method: "DELETE",
        headers: user.headers,
      });
      expect(revoke.status).toBe(204);
      expect((await createKey(t, user.accessToken, ["read"])).status).toBe(201);
    });
  });

  describe("rejected credentials are counted per address (issue 10, low)", () => {
    it("after the budget of bad tokens, even a good one gets 429", async () => {
      await withHome({ env: { CREDENTIAL_FAILURE_LIMIT: "3/60s" } }, async (home) => {
        const user = await home.signIn();
        for (let i = 0; i < 3; i++) {
          const bad = await home.request("/api/auth/me", { headers: bearer(`forged.${i}.token`) });
          expect(bad.status).toBe(401);
        }
        // The budget (3 a minute) is spent: the next credential is not even checked.
        const good = await home.request("/api/auth/me", { headers: user.headers });
        expect(good.status).toBe(429);
        expect(Number(good.headers.get("retry-after"))).toBeGreaterThan(0);
        expect((await readProblem(good)).code).toBe("RATE_LIMITED");
        // Anonymous requests carry no credential and are not blocked.
        expect((await home.request("/api/collections/posts/records")).status).toBe(200);
      });
    });

    it("counts wrong passwords and unknown API keys as well", async () => {
      await withHome({ env: { CREDENTIAL_FAILURE_LIMIT: "2/60s" } }, async (home) => {
        const { email } = await signup(home, freshEmail("sec"));
        const wrong = () =>
          home.request("/api/auth/login", {
            method: "POST",
            json: { email, password: "wrong guess 1" },
          });
        expect((await wrong()).status).toBe(401);
        expect(
          (
            await home.request("/api/collections/posts/records", {
              headers: { "x-api-key": "nb_live_x" },
            })
          ).status,
        ).toBe(401);
        const right = await home.request("/api/auth/login", {
          method: "POST",
          json: { email, password: strong },
        });
        expect(right.status).toBe(429);
      });
    });
  });

  describe("log-in throttle cannot lock the owner out (issue 10, low)", () => {
    it("counts per account and address, with a looser per-account ceiling", async () => {
      await withHome(
        {
          clientAddresses: true,
          env: { LOGIN_LIMIT_PER_ACCOUNT: "2/15m", LOGIN_LIMIT_PER_ACCOUNT_TOTAL: "5/15m" },
        },
        async (home) => {
          const { email } = await signup(home, freshEmail("sec"));
          const login = (from: string, password = "attacker guess 1") =>
            home.request("/api/auth/login", { method: "POST", from, json: { email, password } });
          const [attacker, owner, second, third, fourth] = Array.from({ length: 5 }, uniqueAddress);
          expect((await login(attacker!)).status).toBe(401);
          expect((await login(attacker!)).status).toBe(401);
          expect((await login(attacker!)).status).toBe(429);
          // The owner, elsewhere, still gets in.
          expect((await login(owner!, strong)).status).toBe(200);
          // A distributed guess still meets the per-account ceiling.
          expect((await login(second!)).status).toBe(401);
          expect((await login(third!)).status).toBe(401);
          expect((await login(fourth!)).status).toBe(429);
        },
      );
    });
  });

  describe("token responses are never cached (issue 10, low)", () => {
    it("sends Cache-Control: no-store and Pragma: no-cache with tokens and keys", async () => {
      const email = freshEmail("sec");
      const up = await t.request("/api/auth/signup", {
        method: "POST",
        json: { email, password: strong },
      });
      const { accessToken, refreshToken } = (await up.clone().json()) as {
        accessToken: string;
        refreshToken: string;
      };
      const login = await t.request("/api/auth/login", {
        method: "POST",
        json: { email, password: strong },
      });
      const refreshed = await t.request("/api/auth/refresh", {
        method: "POST",
        json: { refreshToken },
      });
      const key = await createKey(t, accessToken);
      const me = await t.request("/api/auth/me", { headers: bearer(accessToken) });
      for (const res of [up, login, refreshed, key, me]) {
        expect(res.status).toBeLessThan(300);
        expect(res.headers.get("cache-control")).toBe("no-store");
        expect(res.headers.get("pragma")).toBe("no-cache");
      }
    });
  });

  describe("malformed percent-encoding (issue 10, low)", () => {
    it("answers a 4xx problem, never a 500, on every route", async () => {
      const user = await t.signIn();
      for (const [method, path] of [
        ["GET", "/api/collections/%E0%A4%A/records"],
        ["GET", "/api/collections/posts/records/%E0%A4%A"],
        ["GET", "/api/collections/%ZZ/records"],
        ["DELETE", "/api/keys/%E0%A4%A"],
        ["DELETE", "/api/auth/sessions/%E0%A4%A"],
        ["GET", "/api/auth/oauth/%E0%A4%A/start"],
      ] as const) {
        const res = await t.request(path, { method, headers: user.headers });
        expect(res.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
        expect(res.status, `${method} ${path}`).toBeLessThan(500);
        await readProblem(res);
      }
    });
  });

  describe("/docs loads Scalar with Subresource Integrity (issue 10, low)", () => {
    it("pins an exact version with integrity and crossorigin", async () => {
      const html = await (await t.request("/docs")).text();
      const tag = /<script src="([^"]+)" integrity="([^"]+)" crossorigin="anonymous">/.exec(html);
      expect(tag).not.toBeNull();
      expect(tag![1]).toMatch(
        /@scalar\/api-reference@\d+\.\d+\.\d+\/dist\/browser\/standalone\.js$/,
      );
      expect(tag![2]).toMatch(/^sha384-[A-Za-z0-9+/]{64}$/);
    });
  });
}
