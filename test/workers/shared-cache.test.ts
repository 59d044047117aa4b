import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createClient } from "@libsql/client/web";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import { collections } from "../../src/collections/index";
import { loadConfig } from "../../src/config";
import type { CachePort } from "../../src/core/kernel/ports";
import worker from "../../src/platform/workers/main";
import { createWorkersPlatform } from "../../src/platform/workers/platform";

/**
 * The shared cache on the Workers home, in workerd with the real Cache API: a stale entry is
 * refreshed in the background and the refresh's put lands (STALE → HIT), and a Cache API that
 * throws degrades to BYPASS instead of a 500.
 */
const bindings = {
  ...env,
  // Other test files write posts to the same database; a long memo keeps their writes from
  // moving this file's cache keys between the fill and the answers it expects.
  CACHE_VERSION_MEMO_MS: "60000",
} as Env;

async function seedPost(title: string) {
  const db = createClient({ url: env.DATABASE_URL });
  const now = new Date().toISOString();
  const id = `pst_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  await db.execute({
    sql: "INSERT INTO posts (id, created, updated, title, status, author) VALUES (?, ?, ?, ?, 'published', 'usr_swr')",
    args: [id, now, now, title],
  });
  db.close();
  return id;
}

/** One request through the real entry, then everything it handed to waitUntil. */
async function call(path: string) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`https://nearbase.test${path}`) as Parameters<typeof worker.fetch>[0],
    bindings,
    ctx,
  );
  await res.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return res;
}

afterEach(() => {
  vi.useRealTimers();
});

describe("stale-while-revalidate in workerd", () => {
  it("serves STALE past s-maxage, and the background refresh's put lands (then HIT)", async () => {
    const id = await seedPost("swr in workerd");
    const path = `/api/collections/posts/records/${id}?fields=id,title`;
    expect((await call(path)).headers.get("x-cache")).toBe("MISS");
    expect((await call(path)).headers.get("x-cache")).toBe("HIT");

    // Past s-maxage (10 s for posts), within stale-while-revalidate (30 s): only our clock moves,
    // the Cache API keeps the entry (its own expiry is s-maxage + swr, in real time).
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 15_000 });
    const stale = await call(path);
    expect(stale.headers.get("x-cache")).toBe("STALE");
    expect(Number(stale.headers.get("age"))).toBeGreaterThanOrEqual(15);

    // The refresh ran inside the STALE request's waitUntil and stored a fresh entry.
    const refreshed = await call(path);
    expect(refreshed.headers.get("x-cache")).toBe("HIT");
    expect(Number(refreshed.headers.get("age") ?? "0")).toBeLessThan(5);
  });
});

describe("a failing Cache API in workerd", () => {
  function appWith(cache: CachePort) {
    const config = loadConfig(bindings as unknown as Record<string, unknown>, "workers");
    const platform = { ...createWorkersPlatform(config, bindings), cache };
    return createApp({ platform, config, collections });
  }
  const broken = (fail: "match" | "put"): CachePort => ({
    implemented: true,
    match: async () => {
      if (fail === "match") throw new Error("cache match exploded");
      return undefined;
    },
    put: async () => {
      if (fail === "put") throw new Error("cache put exploded");
    },
    delete: async () => {},
  });

  for (const fail of ["match", "put"] as const) {
    it(`answers from the database when ${fail} throws`, async () => {
      const app = appWith(broken(fail));
      const id = await seedPost(`broken ${fail}`);
      for (let i = 0; i < 2; i++) {
        const ctx = createExecutionContext();
        const res = await app.fetch(
          new Request(`https://nearbase.test/api/collections/posts/records/${id}`),
          bindings,
          ctx,
        );
        expect(res.status).toBe(200);
        expect(((await res.json()) as { title: string }).title).toBe(`broken ${fail}`);
        expect(res.headers.get("x-cache")).toBe(fail === "match" ? "BYPASS" : "MISS");
        await waitOnExecutionContext(ctx);
      }
    });
  }
});
