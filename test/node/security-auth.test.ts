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

// Regression tests for the security review (issue 10), auth and HTTP-surface half.

const strong = "correct horse battery staple";
let counter = 0;
const freshEmail = () => `sec${Date.now()}${counter++}@example.com`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function signup(t: TestApp, email = freshEmail(), headers: Record<string, string> = {}) {
  const res = await t.request("/api/auth/signup", {
    method: "POST",
    json: { email, password: strong },
    headers,
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return {
    email,
    ...((await res.json()) as { user: { id: string }; accessToken: string; refreshToken: string }),
  };
}

async function createKey(t: TestApp, accessToken: string, scopes = ["read", "write"]) {
  const res = await t.request("/api/keys", {
    method: "POST",
    headers: bearer(accessToken),
    json: { name: "ci", scopes },
  });
  return res;
}

const lastLink = (t: TestApp, to: string) => {
  const mail = t.mail.filter((m) => m.to === to).at(-1);
  return /token=([\w-]+)/.exec(mail?.text ?? "")?.[1];
};

async function forgot(t: TestApp, email: string) {
  const res = await t.request("/api/auth/password/forgot", { method: "POST", json: { email } });
  expect(res.status).toBe(202);
  await t.platform.settle();
  return lastLink(t, email)!;
}

describe("one verb revokes every credential (issue 10 #3)", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it("a password reset revokes API keys, sessions and refresh families", async () => {
    const { email, accessToken, refreshToken } = await signup(t);
    const key = ((await (await createKey(t, accessToken)).json()) as { key: string }).key;
    expect((await t.request("/api/auth/sessions", { headers: { "x-api-key": key } })).status).toBe(
      401, // a key is not a user session; but it can read collections:
    );
    expect(
      (await t.request("/api/collections/posts/records", { headers: { "x-api-key": key } })).status,
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
    const { accessToken } = await signup(t);
    const key = ((await (await createKey(t, accessToken)).json()) as { key: string }).key;
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

describe("single-use links (issue 10, low)", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it("spending one reset link kills the older ones", async () => {
    const { email } = await signup(t);
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
    const { email } = await signup(t);
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
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

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

  it("refuses an email with NUL or control characters at every entry point", async () => {
    const victim = freshEmail();
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
    const rows = await t.client.execute("SELECT email FROM nb_users");
    expect(rows.rows.every((r) => !String(r.email).includes("\u0000"))).toBe(true);
  });

  it("refuses control characters in names (sign-up, API keys)", async () => {
    const res = await t.request("/api/auth/signup", {
      method: "POST",
      json: { email: freshEmail(), password: strong, name: "Ada\u0000Admin" },
    });
    expect(res.status).toBe(400);
    expect((await readProblem(res)).errors?.[0]?.path).toBe("/name");
    const { accessToken } = await signup(t);
    const key = await t.request("/api/keys", {
      method: "POST",
      headers: bearer(accessToken),
      json: { name: "ci\u202eyek", scopes: ["read"] },
    });
    expect(key.status).toBe(400);
  });
});

describe("discovery document (issue 10 #7)", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { PUBLIC_URL: "https://api.example.test" } });
  });
  afterAll(() => t.close());

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

describe("API keys and rate limits (issue 10, low)", () => {
  it("an API key spends its owner's read budget", async () => {
    const t = await createTestApp({ env: { RATE_LIMIT_READ: "3/60s" } });
    try {
      const user = await t.signIn();
      const key = ((await (await createKey(t, user.accessToken)).json()) as { key: string }).key;
      const read = (headers: Record<string, string>) =>
        t.request("/api/collections/posts/records", { headers });
      expect((await read(user.headers)).status).toBe(200);
      expect((await read(user.headers)).status).toBe(200);
      expect((await read({ "x-api-key": key })).status).toBe(200);
      const over = await read({ "x-api-key": key });
      expect(over.status).toBe(429);
      expect((await read(user.headers)).status).toBe(429);
    } finally {
      await t.close();
    }
  });

  it("caps active keys per user with a stable problem code", async () => {
    const t = await createTestApp();
    try {
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
    } finally {
      await t.close();
    }
  });
});

describe("rejected credentials are counted per address (issue 10, low)", () => {
  it("after the budget of bad tokens, even a good one gets 429 for a while", async () => {
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

  it("counts wrong passwords and unknown API keys as well", async () => {
    const t = await createTestApp({ env: { CREDENTIAL_FAILURE_LIMIT: "2/60s" } });
    try {
      const { email } = await signup(t);
      const wrong = () =>
        t.request("/api/auth/login", {
          method: "POST",
          json: { email, password: "wrong guess 1" },
        });
      expect((await wrong()).status).toBe(401);
      expect(
        (
          await t.request("/api/collections/posts/records", {
            headers: { "x-api-key": "nb_live_x" },
          })
        ).status,
      ).toBe(401);
      const right = await t.request("/api/auth/login", {
        method: "POST",
        json: { email, password: strong },
      });
      expect(right.status).toBe(429);
    } finally {
      await t.close();
    }
  });
});

describe("log-in throttle cannot lock the owner out (issue 10, low)", () => {
  it("counts per account and address, with a looser per-account ceiling", async () => {
    const t = await createTestApp({
      env: {
        TRUST_PROXY: "true",
        LOGIN_LIMIT_PER_ACCOUNT: "2/15m",
        LOGIN_LIMIT_PER_ACCOUNT_TOTAL: "5/15m",
      },
    });
    try {
      const { email } = await signup(t);
      const login = (ip: string, password = "attacker guess 1") =>
        t.request("/api/auth/login", {
          method: "POST",
          headers: { "x-forwarded-for": ip },
          json: { email, password },
        });
      expect((await login("198.51.100.1")).status).toBe(401);
      expect((await login("198.51.100.1")).status).toBe(401);
      expect((await login("198.51.100.1")).status).toBe(429);
      // The owner, elsewhere, still gets in.
      expect((await login("203.0.113.50", strong)).status).toBe(200);
      // A distributed guess still meets the per-account ceiling.
      expect((await login("198.51.100.2")).status).toBe(401);
      expect((await login("198.51.100.3")).status).toBe(401);
      expect((await login("198.51.100.4")).status).toBe(429);
    } finally {
      await t.close();
    }
  });
});

describe("token responses are never cached (issue 10, low)", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it("sends Cache-Control: no-store and Pragma: no-cache with tokens and keys", async () => {
    const email = freshEmail();
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
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

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

describe("/docs loads Scalar with Subresource Integrity (issue 10, low)", () => {
  it("pins an exact version with integrity and crossorigin", async () => {
    const t = await createTestApp();
    try {
      const html = await (await t.request("/docs")).text();
      const tag = /<script src="([^"]+)" integrity="([^"]+)" crossorigin="anonymous">/.exec(html);
      expect(tag).not.toBeNull();
      expect(tag![1]).toMatch(
        /@scalar\/api-reference@\d+\.\d+\.\d+\/dist\/browser\/standalone\.js$/,
      );
      expect(tag![2]).toMatch(/^sha384-[A-Za-z0-9+/]{64}$/);
    } finally {
      await t.close();
    }
  });
});
