import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config";
import { parseEmail } from "../../src/core/accounts/identifiers";
import { deleteExpiredRateLimits } from "../../src/core/rate-limit/cleanup";
import { parsePolicy } from "../../src/core/rate-limit/gcra";
import { libsqlStore } from "../../src/core/rate-limit/stores";
import type { AppEnv } from "../../src/http/context";
import { onError } from "../../src/http/error-handler";
import { forwardedClientIp } from "../../src/platform/node/client-ip";
import { createTestApp, readProblem, type TestApp } from "../harness";

// Regression tests for the security review (issue 10), auth and HTTP-surface half: the HTTP
// behaviour runs in both homes (test/conformance/security-auth.suite.ts); what stays here needs
// the Node home: the harness's revoke verb, a moved clock, X-Forwarded-For behind a trusted
// proxy (Workers keys on CF-Connecting-IP: test/workers/auth.test.ts), and units without HTTP.

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function createKey(t: TestApp, accessToken: string, scopes = ["read", "write"]) {
  return t.request("/api/keys", {
    method: "POST",
    headers: bearer(accessToken),
    json: { name: "ci", scopes },
  });
}

describe("one verb revokes every credential (issue 10 #3)", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it("the harness and scripts use the same verb", async () => {
    const user = await t.signIn();
    const key = ((await (await createKey(t, user.accessToken)).json()) as { key: string }).key;
    await t.revokeAll(user.id);
    expect(
      (await t.request("/api/collections/posts/records", { headers: { "x-api-key": key } })).status,
    ).toBe(401);
    expect(
      (
        await t.request("/api/auth/refresh", {
          method: "POST",
          json: { refreshToken: user.refreshToken },
        })
      ).status,
    ).toBe(401);
  });
});

describe("emails and names are validated strictly (issue 10 #9)", () => {
  it("parseEmail normalises and refuses control characters and odd forms", () => {
    expect(parseEmail("  Grace.Hopper+x@EXAMPLE.org ")).toBe("grace.hopper+x@example.org");
    expect(parseEmail("user@bücher.example")).toBe("user@xn--bcher-kva.example");
    for (const bad of [
      "victim@example.com\u0000@evil.test",
      "victim\u0000@example.com",
      "vic\ttim@example.com",
      "victim@example.com\n",
      "victim@exam\u202eple.com",
      "a@b",
      "a@b.c",
      "a..b@example.com",
      ".a@example.com",
      '"quoted"@example.com',
      "a@-example.com",
      "a@example.123",
      "a@[127.0.0.1]",
      "a@example.com@example.com",
      "ü@example.com",
      `${"a".repeat(65)}@example.com`,
      "a@ex ample.com",
      "a@example.com/x",
      "\ud800@example.com",
    ]) {
      expect(parseEmail(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });
});

describe("discovery document (issue 10 #7)", () => {
  it("refuses a PUBLIC_URL with a query, fragment or credentials at start", () => {
    for (const bad of ["https://x.test/?a=1", "https://x.test/#f", "https://u:p@x.test"]) {
      expect(() => loadConfig({ PUBLIC_URL: bad }, "node")).toThrow(ConfigError);
    }
  });
});

describe("client address behind trusted proxies (issue 10 #8)", () => {
  it("takes the entry the trusted proxies appended, not the client's", () => {
    expect(forwardedClientIp("1.2.3.4, 203.0.113.9", 1)).toBe("203.0.113.9");
    expect(forwardedClientIp("1.2.3.4, 203.0.113.9, 10.0.0.2", 2)).toBe("203.0.113.9");
    expect(forwardedClientIp("203.0.113.9", 2)).toBeUndefined();
    expect(forwardedClientIp("1.2.3.4, not-an-ip", 1)).toBeUndefined();
    expect(forwardedClientIp("2001:db8::1", 1)).toBe("2001:db8::1");
    expect(forwardedClientIp(undefined, 1)).toBeUndefined();
  });

  it("validates TRUST_PROXY and TRUST_PROXY_HOPS at start", () => {
    expect(loadConfig({ TRUST_PROXY: "true" }, "node").trustProxyHops).toBe(1);
    expect(loadConfig({ TRUST_PROXY: "true", TRUST_PROXY_HOPS: "2" }, "node").trustProxyHops).toBe(
      2,
    );
    for (const env of [
      { TRUST_PROXY: "yes" },
      { TRUST_PROXY_HOPS: "0" },
      { TRUST_PROXY_HOPS: "x" },
    ])
      expect(() => loadConfig(env, "node")).toThrow(ConfigError);
  });

  it("a client cannot get a fresh rate-limit budget by forging X-Forwarded-For", async () => {
    const t = await createTestApp({ env: { TRUST_PROXY: "true", RATE_LIMIT_AUTH: "2/60s" } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await t.request("/api/auth/refresh", {
          method: "POST",
          headers: { "x-forwarded-for": `10.9.8.${i}, 203.0.113.9` },
          json: {},
        });
        statuses.push(res.status);
      }
      expect(statuses.slice(2)).toEqual([429, 429]);
      // Another real client (another address appended by the proxy) has its own budget.
      const other = await t.request("/api/auth/refresh", {
        method: "POST",
        headers: { "x-forwarded-for": "203.0.113.10" },
        json: {},
      });
      expect(other.status).toBe(400);
    } finally {
      await t.close();
    }
  });
});

describe("rejected credentials are counted per address (issue 10, low)", () => {
  it("after the budget of bad tokens, a good one gets 429 until the window passes (moved clock)", async () => {
    const t = await createTestApp({ env: { CREDENTIAL_FAILURE_LIMIT: "3/60s" } });
    try {
      const user = await t.signIn();
      for (let i = 0; i < 3; i++) {
        const bad = await t.request("/api/auth/me", { headers: bearer(`forged.${i}.token`) });
        expect(bad.status).toBe(401);
      }
      // The budget (3 a minute) is spent: the next credential is not even checked.
      const good = await t.request("/api/auth/me", { headers: user.headers });
      expect(good.status).toBe(429);
      expect(Number(good.headers.get("retry-after"))).toBeGreaterThan(0);
      expect((await readProblem(good)).code).toBe("RATE_LIMITED");
      // Anonymous requests carry no credential and are not blocked.
      expect((await t.request("/api/collections/posts/records")).status).toBe(200);
      t.advance(61_000);
      expect((await t.request("/api/auth/me", { headers: user.headers })).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});

describe("malformed percent-encoding (issue 10, low)", () => {
  it("maps a URIError from any handler to 400 MALFORMED_URI (the class, centrally)", async () => {
    const app = new Hono<AppEnv>();
    app.use(async (c, next) => {
      c.set("requestId", "req-1");
      await next();
    });
    app.get("/raw/:segment", (c) => {
      const raw = new URL(c.req.url).pathname.split("/").at(-1)!;
      return c.text(decodeURIComponent(raw));
    });
    app.onError(onError);
    const res = await app.request("/raw/%E0%A4%A");
    expect(res.status).toBe(400);
    const problem = await readProblem(res);
    expect(problem.code).toBe("MALFORMED_URI");
  });
});

describe("rate-limit housekeeping (issue 10, low)", () => {
  it("deletes only rows whose bucket is whole again, against real libSQL", async () => {
    const t = await createTestApp();
    try {
      const store = libsqlStore(t.client);
      const policy = parsePolicy("auth", "2/60s");
      const now = Date.now();
      await store.hit("ip:old", policy, now - 120_000);
      await store.hit("ip:busy", policy, now);
      await store.hit("ip:busy", policy, now);
      const before = await t.client.execute("SELECT count(*) AS n FROM nb_rate_limits");
      expect(Number(before.rows[0]!.n)).toBe(2);
      expect(await deleteExpiredRateLimits(t.client, now)).toBe(1);
      const keys = (await t.client.execute("SELECT key FROM nb_rate_limits")).rows.map(
        (r) => r.key,
      );
      expect(keys).toEqual(["auth:ip:busy"]);
      // The kept row still decides: the busy address stays limited.
      expect((await store.hit("ip:busy", policy, now)).allowed).toBe(false);
      expect((await store.hit("ip:old", policy, now)).allowed).toBe(true);
      // Chunked: many expired rows go in several statements.
      for (let i = 0; i < 25; i++) await store.hit(`ip:x${i}`, policy, now - 120_000);
      expect(await deleteExpiredRateLimits(t.client, now, { chunk: 10 })).toBe(25);
    } finally {
      await t.close();
    }
  });
});
