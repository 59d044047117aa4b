import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLibsqlServer } from "../../tools/libsql-server/server";
import { publishPost } from "../conformance/home";
import { createTestApp, type TestApp } from "../harness";

/**
 * Edge behaviour that needs Node-only hooks: a clock moved past freshness (stale-while-
 * revalidate), a lagging replica, and two app instances over one database. The shared-cache and
 * rate-limit behaviour both homes share is in test/conformance/edge.suite.ts.
 */
const posts = "/api/collections/posts/records";

describe("shared cache (Node home)", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it("serves a stale entry within stale-while-revalidate and refreshes it in the background", async () => {
    const author = await t.signIn();
    await publishPost(t, author.headers, "swr");
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
    const created = await publishPost(t, author.headers, "v1");
    const token1 = created.res.headers.get("nearbase-consistency")!;
    expect(token1).toMatch(/^v1\.\d+\.c:posts=\d+$/);
    expect(created.res.headers.get("set-cookie")).toMatch(/nb_consistency=.*HttpOnly/);
    // One cookie for the whole origin, whichever API wrote: GraphQL sets it on Path=/ too, and two
    // cookies of one name on different paths would make a browser send the older one first.
    expect(created.res.headers.get("set-cookie")).toMatch(/nb_consistency=[^;]+;.*Path=\/(;|$)/);
    const viaGraphql = await t.request("/graphql", {
      method: "POST",
      headers: author.headers,
      json: { query: `mutation { updatePost(id: "${created.id}", data: { title: "v0" }) { id } }` },
    });
    expect(viaGraphql.status).toBe(200);
    expect(viaGraphql.headers.get("set-cookie")).toMatch(/nb_consistency=[^;]+;.*Path=\/(;|$)/);

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
  it("shares precise limits through libSQL across app instances (auth class)", async () => {
    const a = await createTestApp({ env: { RATE_LIMIT_AUTH: "2/60s" } });
    try {
      // Two apps over one database stand in for two processes or locations.
      const { createNodePlatform } = await import("../../src/platform/node/platform");
      const { createApp } = await import("../../src/app");
      const { memorySink } = await import("../../src/core/kernel/log");
      const b = createApp({
        platform: createNodePlatform(a.config, {
          database: { client: a.client },
          log: memorySink(),
          env: {},
        }),
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
