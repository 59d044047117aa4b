import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshEmail, strong } from "./auth-helpers";
import { appContract, type Home, type MakeHome, publishPost, q, readProblem, unique } from "./home";

const posts = "/api/collections/posts/records";

/** The refresh-token cookie's value in a response's Set-Cookie, and its attributes. */
function refreshCookieOf(res: Response): { value: string; attributes: string } | undefined {
  const line = res.headers.getSetCookie().find((c) => c.startsWith("nb_refresh="));
  if (line === undefined) return undefined;
  const [pair, ...attributes] = line.split(";");
  return { value: pair!.slice("nb_refresh=".length), attributes: attributes.join(";").trim() };
}

/**
 * The API contract as clients see it (issue #23): the document the harness validates every
 * response against is the one the app serves; reads with ?fields=/?expand= match it; unknown
 * query parameters and wrong methods are refused clearly; health checks ignore credentials;
 * date-times in filters compare as instants; credentialed CORS and the refresh-token cookie work,
 * and the shared cache never hands one origin's CORS answer to another.
 */
export function defineContractSuite(makeHome: MakeHome) {
  describe("API contract", () => {
    let t: Home;
    beforeAll(async () => {
      t = await makeHome();
    });
    afterAll(() => t.close());

    it("serves the very document the harness validates every response against", async () => {
      const res = await t.request("/openapi.json");
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(JSON.parse(JSON.stringify(appContract().document)));
    });

    it("answers ?fields= and ?expand= reads as documented (partial records, embedded relations)", async () => {
      const author = await t.signIn();
      const { id } = await publishPost(t, author.headers, unique("contract"));
      const partial = await t.request(`${posts}/${id}?fields=id,title`);
      expect(Object.keys(await partial.json()).sort()).toEqual(["id", "title"]);
      const comment = await t.request("/api/collections/comments/records", {
        method: "POST",
        headers: author.headers,
        json: { post: id, body: "hello" },
      });
      expect(comment.status).toBe(201);
      const cid = ((await comment.json()) as { id: string }).id;
      const expanded = await t.request(
        `/api/collections/comments/records/${cid}?expand=post&fields=id,post`,
      );
      const body = (await expanded.json()) as { expand: { post: { id: string; tags: unknown } } };
      expect(body.expand.post.id).toBe(id);
      expect(body.expand.post.tags).toEqual([]);
      const list = await t.request(
        `/api/collections/comments/records?filter=${q(`post = '${id}'`)}&expand=post`,
      );
      expect(list.status).toBe(200);
    });

    it("refuses query parameters a read does not take, naming them", async () => {
      const res = await t.request(`${posts}?page=2&perPage=20&limit=5`);
      expect(res.status).toBe(400);
      const problem = await readProblem(res);
      expect(problem.code).toBe("INVALID_QUERY");
      expect(problem.detail).toContain('"page"');
      expect(problem.detail).toContain("nextCursor");
      expect(problem.errors?.map((e) => e.path).sort()).toEqual(["/page", "/perPage"]);
      const view = await t.request(`${posts}/pst_nothere?limit=1`);
      expect(view.status).toBe(400);
      expect((await readProblem(view)).errors).toEqual([
        { path: "/limit", message: "unknown query parameter" },
      ]);
    });

    it("refuses unknown query parameters on every operation that documents it, naming them", async () => {
      const paths = appContract().document.paths as Record<
        string,
        Record<string, { responses: Record<string, unknown> }>
      >;
      const strict = Object.entries(paths).flatMap(([path, item]) =>
        Object.entries(item)
          .filter(([, op]) => JSON.stringify(op.responses["400"] ?? {}).includes('"INVALID_QUERY"'))
          .map(([method]) => ({ method: method.toUpperCase(), path })),
      );
      // Every operation but the OAuth callbacks (test/node/openapi.test.ts holds that list).
      expect(strict.length).toBeGreaterThanOrEqual(100);
      const refusedWith = new Map<string, number>();
      for (const { method, path } of strict) {
        // Anonymous, no body: the query is checked before the handler asks for either.
        const url = `${path.replace(/\{\w+\}/g, "x1")}?nbUnknown=1`;
        const res = await t.request(url, { method });
        const problem = res.status === 400 ? await readProblem(res) : undefined;
        expect(`${method} ${path} → ${res.status} ${problem?.code}`).toBe(
          `${method} ${path} → 400 INVALID_QUERY`,
        );
        expect(problem!.errors).toContainEqual({
          path: "/nbUnknown",
          message: "unknown query parameter",
        });
        refusedWith.set(method, (refusedWith.get(method) ?? 0) + 1);
      }
      // PUT: the direct upload (PUT /api/files/uploads/{token}).
      expect([...refusedWith.keys()].sort()).toEqual(["DELETE", "GET", "PATCH", "POST", "PUT"]);
    });

    it("takes a route's documented parameters and refuses the rest, signed in too", async () => {
      const user = await t.signIn();
      expect((await t.request("/api/auth/me", { headers: user.headers })).status).toBe(200);
      const me = await t.request("/api/auth/me?expand=sessions&verbose", { headers: user.headers });
      expect(me.status).toBe(400);
      const problem = await readProblem(me);
      expect(problem.code).toBe("INVALID_QUERY");
      expect(problem.detail).toBe(
        'Unknown query parameters "expand", "verbose"; this request takes no query parameters.',
      );
      expect(problem.errors?.map((e) => e.path)).toEqual(["/expand", "/verbose"]);
      const keys = await t.request("/api/keys?limit=5", { headers: user.headers });
      expect((await readProblem(keys)).detail).toContain('"limit"');
      // HEAD is checked as its GET; an empty query string is no parameter.
      expect((await t.request("/health?probe=1", { method: "HEAD" })).status).toBe(400);
      expect((await t.request("/health?")).status).toBe(200);
      const login = await t.request("/api/auth/login?cookie=1&remember=1", {
        method: "POST",
        json: { email: "nobody@example.com", password: "irrelevant-here" },
      });
      expect((await readProblem(login)).errors).toEqual([
        { path: "/remember", message: "unknown query parameter" },
      ]);
      const deliveries = await t.request("/api/webhooks/whk_x/deliveries?status=failed&page=2", {
        headers: user.headers,
      });
      expect((await readProblem(deliveries)).detail).toBe(
        'Unknown query parameter "page"; this request takes status, limit.',
      );
    });

    it("leaves the OAuth callbacks' parameters to the provider", async () => {
      // A provider may add its own (RFC 9207's iss, scope, …): refused for the state, not them.
      const res = await t.request(
        "/api/auth/oauth/github/callback?state=x&code=y&iss=https%3A%2F%2Fgithub.com&scope=email",
      );
      expect(res.status).toBeGreaterThanOrEqual(300);
      if (res.headers.get("content-type")?.includes("problem+json"))
        expect((await readProblem(res)).code).not.toBe("INVALID_QUERY");
    });

    it("answers a method a path does not take with 405 and Allow, not 404", async () => {
      const record = await t.request(`${posts}/pst_x`, { method: "PUT", json: {} });
      expect(record.status).toBe(405);
      expect(record.headers.get("allow")).toBe("DELETE, GET, HEAD, PATCH");
      expect((await readProblem(record)).code).toBe("METHOD_NOT_ALLOWED");
      const health = await t.request("/health", { method: "DELETE" });
      expect(health.status).toBe(405);
      expect(health.headers.get("allow")).toBe("GET, HEAD");
      // A path nobody serves is still 404.
      expect((await t.request("/api/nothing-here", { method: "PUT" })).status).toBe(404);
    });

    it("ignores a stale token on health, readiness, discovery and the docs, not elsewhere", async () => {
      const stale = { authorization: "Bearer not.a.token" };
      for (const path of ["/health", "/ready", "/openapi.json", "/.well-known/jwks.json"]) {
        const res = await t.request(path, { headers: stale });
        expect(res.status, path).toBe(200);
      }
      expect((await t.request("/api/auth/me", { headers: stale })).status).toBe(401);
    });

    it("compares PocketBase-style date-times in filters as the instants they name", async () => {
      const author = await t.signIn();
      const title = unique("dated");
      await publishPost(t, author.headers, title);
      const hourAgo = new Date(Date.now() - 3_600_000);
      const pocketBase = hourAgo.toISOString().replace("T", " ");
      const count = async (literal: string) => {
        const res = await t.request(
          `${posts}?filter=${q(`title = '${title}' && created > '${literal}'`)}`,
        );
        expect(res.status).toBe(200);
        return ((await res.json()) as { items: unknown[] }).items.length;
      };
      expect(await count(hourAgo.toISOString())).toBe(1);
      expect(await count(pocketBase)).toBe(1);
      expect(await count(new Date(Date.now() + 3_600_000).toISOString().replace("T", " "))).toBe(0);
      const zoneless = await t.request(
        `${posts}?filter=${q(`created > '${pocketBase.slice(0, 19)}'`)}`,
      );
      expect(zoneless.status).toBe(400);
      expect((await readProblem(zoneless)).detail).toMatch(/needs a time zone/);
    });
  });

  describe("browsers", () => {
    const app = "https://app.example.test";
    const other = "https://admin.example.test";
    let t: Home;
    beforeAll(async () => {
      t = await makeHome({ env: { CORS_ORIGINS: `${app},${other}` } });
    });
    afterAll(() => t.close());

    it("allows credentials for configured origins and exposes the contract's headers", async () => {
      const preflight = await t.request("/api/auth/refresh?cookie=1", {
        method: "OPTIONS",
        headers: {
          origin: app,
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type",
        },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get("access-control-allow-origin")).toBe(app);
      expect(preflight.headers.get("access-control-allow-credentials")).toBe("true");
      const res = await t.request("/api/auth/me", { headers: { origin: app } });
      expect(res.status).toBe(401);
      expect(res.headers.get("access-control-allow-origin")).toBe(app);
      expect(res.headers.get("access-control-allow-credentials")).toBe("true");
      const exposed = (res.headers.get("access-control-expose-headers") ?? "").split(",");
      for (const name of [
        "location",
        "etag",
        "www-authenticate",
        "ratelimit",
        "ratelimit-policy",
        "nearbase-consistency",
        "retry-after",
      ])
        expect(exposed).toContain(name);
      const stranger = await t.request("/api/auth/me", {
        headers: { origin: "https://evil.example" },
      });
      expect(stranger.headers.get("access-control-allow-origin")).toBeNull();
    });

    it("never replays one origin's CORS answer to another from the shared cache", async () => {
      const author = await t.signIn();
      const title = unique("corscache");
      await publishPost(t, author.headers, title);
      const url = `${posts}?filter=${q(`title = '${title}'`)}`;
      const first = await t.request(url, { headers: { origin: app } });
      expect(first.headers.get("x-cache")).toBe("MISS");
      expect(first.headers.get("access-control-allow-origin")).toBe(app);
      expect(first.headers.get("vary")).toMatch(/Origin/);
      await t.settle();
      const second = await t.request(url, { headers: { origin: other } });
      expect(second.headers.get("x-cache")).toBe("HIT");
      expect(second.headers.get("access-control-allow-origin")).toBe(other);
      expect(second.headers.get("vary")).toMatch(/Origin/);
      const third = await t.request(url, { headers: { origin: "https://evil.example" } });
      expect(third.headers.get("x-cache")).toBe("HIT");
      expect(third.headers.get("access-control-allow-origin")).toBeNull();
      const bare = await t.request(url);
      expect(bare.headers.get("x-cache")).toBe("HIT");
      expect(bare.headers.get("access-control-allow-origin")).toBeNull();
    });

    it("keeps the refresh token in an HttpOnly cookie when asked (?cookie=1)", async () => {
      const signup = await t.request("/api/auth/signup?cookie=1", {
        method: "POST",
        headers: { origin: app },
        json: { email: freshEmail("cookie"), password: strong },
      });
      expect(signup.status).toBe(201);
      const signedIn = (await signup.json()) as Record<string, unknown>;
      expect(signedIn.accessToken).toEqual(expect.any(String));
      expect(signedIn).not.toHaveProperty("refreshToken");
      const cookie = refreshCookieOf(signup)!;
      expect(cookie.value.length).toBeGreaterThan(20);
      expect(cookie.attributes).toMatch(/Path=\/api\/auth/);
      expect(cookie.attributes).toMatch(/HttpOnly/);
      expect(cookie.attributes).toMatch(/Secure/);
      expect(cookie.attributes).toMatch(/SameSite=Strict/);

      const rotate = (value: string) =>
        t.request("/api/auth/refresh?cookie=1", {
          method: "POST",
          headers: { origin: app, cookie: `nb_refresh=${value}` },
          json: {},
        });
      const refreshed = await rotate(cookie.value);
      expect(refreshed.status).toBe(200);
      const pair = (await refreshed.json()) as Record<string, unknown>;
      expect(pair).not.toHaveProperty("refreshToken");
      const next = refreshCookieOf(refreshed)!;
      expect(next.value).not.toBe(cookie.value);
      // The old token is spent (and presenting it revokes the session: so is the new one).
      expect((await rotate(cookie.value)).status).toBe(401);
      expect((await rotate(next.value)).status).toBe(401);
      // No cookie: 401, not a validation error about a body field the caller never sent.
      const none = await t.request("/api/auth/refresh?cookie=1", { method: "POST", json: {} });
      expect(none.status).toBe(401);
      // Without ?cookie=1 the token stays in the body, as before.
      const login = await t.request("/api/auth/login", {
        method: "POST",
        json: { email: (signedIn.user as { email: string }).email, password: strong },
      });
      expect(((await login.json()) as { refreshToken?: string }).refreshToken).toEqual(
        expect.any(String),
      );
      expect(refreshCookieOf(login)).toBeUndefined();
    });

    it("clears the refresh cookie on log-out", async () => {
      const login = await t.request("/api/auth/signup?cookie=1", {
        method: "POST",
        json: { email: freshEmail("bye"), password: strong },
      });
      const { accessToken } = (await login.json()) as { accessToken: string };
      const cookie = refreshCookieOf(login)!;
      const out = await t.request("/api/auth/logout", {
        method: "POST",
        headers: { authorization: `Bearer ${accessToken}`, cookie: `nb_refresh=${cookie.value}` },
      });
      expect(out.status).toBe(204);
      const cleared = refreshCookieOf(out)!;
      expect(cleared.value).toBe("");
      expect(cleared.attributes).toMatch(/Max-Age=0/);
    });
  });
}
