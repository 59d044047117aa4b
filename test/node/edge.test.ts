import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLibsqlServer } from "../../tools/libsql-server/server";
import { createTestApp, readProblem, type TestApp } from "../harness";

const posts = "/api/collections/posts/records";

async function publish(t: TestApp, headers: Record<string, string>, title: string) {
  const res = await t.request(posts, {
    method: "POST",
    headers,
    json: { title, status: "published" },
  });
  expect(res.status).toBe(201);
  return { res, id: ((await res.json()) as { id: string }).id };
}

describe("shared cache (Node home)", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it("serves public reads from the cache with HTTP caching headers, and 304s on If-None-Match", async () => {
    const author = await t.signIn();
    await publish(t, author.headers, "cached one");
    const first = await t.request(`${posts}?limit=20`);
    expect(first.status).toBe(200);
    expect(first.headers.get("x-cache")).toBe("MISS");
    expect(first.headers.get("cache-control")).toBe(
      "public, max-age=0, s-maxage=10, stale-while-revalidate=30",
    );
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^"[0-9a-z]{10,24}-[0-9a-z]+"$/);
    await t.platform.settle();

    const second = await t.request(`${posts}?limit=20`);
    expect(second.headers.get("x-cache")).toBe("HIT");
    expect(second.headers.get("server-timing")).toMatch(/cache;dur=[\d.]+;desc="hit"/);
    expect(await second.text()).toBe(await first.text());
    expect(second.headers.get("etag")).toBe(etag);

    const conditional = await t.request(`${posts}?limit=20`, {
      headers: { "if-none-match": etag },
    });
    expect(conditional.status).toBe(304);
    expect(await conditional.text()).toBe("");
  });

  it("normalises the key: query order does not split the cache", async () => {
    await t.request(`${posts}?limit=5&sort=-created`);
    await t.platform.settle();
    const swapped = await t.request(`${posts}?sort=-created&limit=5`);
    expect(swapped.headers.get("x-cache")).toBe("HIT");
  });

  it("shows a write on the very next read", async () => {
    const author = await t.signIn();
    const { id } = await publish(t, author.headers, "before edit");
    await t.request(`${posts}/${id}`);
    await t.platform.settle();
    expect((await t.request(`${posts}/${id}`)).headers.get("x-cache")).toBe("HIT");

    const edit = await t.request(`${posts}/${id}`, {
      method: "PATCH",
      headers: author.headers,
      json: { title: "after edit" },
    });
    expect(edit.status).toBe(200);
    const next = await t.request(`${posts}/${id}`);
    expect(next.headers.get("x-cache")).toBe("MISS");
    expect(((await next.json()) as { title: string }).title).toBe("after edit");
  });

  it("never shares answers that depend on the caller", async () => {
    const user = await t.signIn();
    await publish(t, user.headers, "mine");
    const signedIn = await t.request(`${posts}?limit=3`, { headers: user.headers });
    expect(signedIn.headers.get("cache-control")).toBe("private, no-store");
    expect(signedIn.headers.get("x-cache")).toBe("BYPASS");
    expect(signedIn.headers.get("vary")).toMatch(/Authorization/);
    expect(signedIn.headers.get("etag")).toBeTruthy();

    const bookmarks = await t.request("/api/collections/bookmarks/records");
    expect(bookmarks.headers.get("cache-control")).toBe("private, no-store");
    const admin = await t.signIn("admin");
    const adminList = await t.request(`${posts}?limit=20`, { headers: admin.headers });
    expect(adminList.headers.get("x-cache")).toBe("BYPASS");
  });

  it("serves a stale entry within stale-while-revalidate and refreshes it in the background", async () => {
    const author = await t.signIn();
    await publish(t, author.headers, "swr");
    await t.request(`${posts}?limit=7`);
    await t.platform.settle();
    t.advance(15_000);
    const stale = await t.request(`${posts}?limit=7`);
    expect(stale.headers.get("x-cache")).toBe("STALE");
    expect(Number(stale.headers.get("age"))).toBeGreaterThanOrEqual(15);
    await t.platform.settle();
    const refreshed = await t.request(`${posts}?limit=7`);
    expect(refreshed.headers.get("x-cache")).toBe("HIT");
  });
});

describe("read-your-writes over a lagging replica", () => {
  const lagMs = 800;
  let replicaServer: Awaited<ReturnType<typeof startLibsqlServer>> | undefined;
  let t: TestApp;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nearbase-ryw-"));
    t = await createTestApp({
      replica: async (primaryPath) => {
        replicaServer = await startLibsqlServer({
          path: join(dir, "replica.db"),
          replicaOf: { source: primaryPath, lagMs },
        });
        return createClient({ url: replicaServer.url }) as never;
      },
    });
  });
  afterAll(async () => {
    await t.close();
    await replicaServer?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lets the writer read its write at once, while others see it within the documented bound", async () => {
    const author = await t.signIn();
    const created = await publish(t, author.headers, "v1");
    const token1 = created.res.headers.get("nearbase-consistency")!;
    expect(token1).toMatch(/^v1\.\d+\.c:posts=\d+$/);
    expect(created.res.headers.get("set-cookie")).toMatch(/nb_consistency=.*HttpOnly/);

    // Without the token, the replica has not seen the new post yet.
    expect((await t.request(`${posts}/${created.id}`)).status).toBe(404);
    // With it, the read goes past the replica and the cache to the primary.
    const own = await t.request(`${posts}/${created.id}`, {
      headers: { "nearbase-consistency": token1 },
    });
    expect(own.status).toBe(200);
    expect(own.headers.get("x-cache")).toBe("BYPASS");

    const edit = await t.request(`${posts}/${created.id}`, {
      method: "PATCH",
      headers: { ...author.headers, "nearbase-consistency": token1 },
      json: { title: "v2" },
    });
    const token2 = edit.headers.get("nearbase-consistency")!;
    const mine = await t.request(`${posts}/${created.id}`, {
      headers: { cookie: `nb_consistency=${token2}` },
    });
    expect(((await mine.json()) as { title: string }).title).toBe("v2");

    // Another reader converges within lag + memo (+ a tick) of the write.
    const wroteAt = Date.now();
    for (;;) {
      const res = await t.request(`${posts}/${created.id}`);
      if (res.status === 200 && ((await res.json()) as { title: string }).title === "v2") break;
      expect(Date.now() - wroteAt).toBeLessThan(lagMs + 1000 + 1000);
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  it("ignores forged or expired tokens instead of failing", async () => {
    for (const token of [
      "garbage",
      "v1.1.c:posts=5",
      `v1.${Date.now() + 60_000}.c:posts=abc`,
      "v1.99999999999999.DROP=1",
    ]) {
      const res = await t.request(`${posts}?limit=1`, {
        headers: { "nearbase-consistency": token },
      });
      expect(res.status, token).toBe(200);
    }
  });
});

describe("rate limits", () => {
  it("answer 429 with Retry-After and the IETF RateLimit fields, per caller", async () => {
    const t = await createTestApp({ env: { RATE_LIMIT_WRITE: "3/60s", RATE_LIMIT_READ: "5/60s" } });
    try {
      const user = await t.signIn();
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let i = 0; i < 4; i++) {
        last = await t.request(posts, {
          method: "POST",
          headers: user.headers,
          json: { title: `n${i}` },
        });
        statuses.push(last.status);
      }
      expect(statuses).toEqual([201, 201, 201, 429]);
      const problem = await readProblem(last!);
      expect(problem.code).toBe("RATE_LIMITED");
      expect(Number(last!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(last!.headers.get("ratelimit-policy")).toBe('"write";q=3;w=60');
      expect(last!.headers.get("ratelimit")).toMatch(/^"write";r=0;t=\d+$/);

      // Another user has their own quota; reads are a separate class.
      const other = await t.signIn();
      expect(
        (await t.request(posts, { method: "POST", headers: other.headers, json: { title: "x" } }))
          .status,
      ).toBe(201);
      const read = await t.request(posts, { headers: user.headers });
      expect(read.status).toBe(200);
      expect(read.headers.get("ratelimit")).toMatch(/^"read";r=4;t=\d+$/);
    } finally {
      await t.close();
    }
  });

  it("shares precise limits through libSQL across app instances (auth class)", async () => {
    const a = await createTestApp({ env: { RATE_LIMIT_AUTH: "2/60s" } });
    try {
      // Two apps over one database stand in for two processes or locations.
      const { createNodePlatform } = await import("../../src/platform/node/platform");
      const { createApp } = await import("../../src/app");
      const { memorySink } = await import("../../src/core/kernel/log");
      const b = createApp({
        platform: createNodePlatform({ client: a.client, log: memorySink(), env: {} }),
        config: a.config,
        collections: [],
      });
      const hit = (app: { request: TestApp["app"]["request"] }) =>
        app.request("/api/auth/login", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: "{}",
        });
      const statuses = [
        (await hit(a.app)).status,
        (await hit(b)).status,
        (await hit(a.app)).status,
      ];
      expect(statuses.slice(0, 2)).not.toContain(429);
      expect(statuses[2]).toBe(429);
    } finally {
      await a.close();
    }
  });
});
