import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { collections } from "../../src/collections/index";
import type { CachePort } from "../../src/core/kernel/ports";
import { createTestApp, type TestApp } from "../harness";

/**
 * A shared cache that throws (match or put) degrades to BYPASS: the answer comes from the
 * database, never a 500. The same check runs in workerd in test/workers/shared-cache.test.ts.
 */
const broken = (fail: "match" | "put"): CachePort => ({
  implemented: true,
  match: async () => {
    if (fail === "match") throw new Error("cache match exploded");
    return undefined;
  },
  put: () => {
    // Thrown synchronously: a port may fail before it returns a promise.
    if (fail === "put") throw new Error("cache put exploded");
    return Promise.resolve();
  },
  delete: async () => {},
});

describe("a failing shared cache (Node home)", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  for (const fail of ["match", "put"] as const) {
    it(`answers from the database when ${fail} throws`, async () => {
      const platform = { ...t.platform, cache: broken(fail) };
      const app = createApp({ platform, config: t.config, collections });
      const author = await t.signIn();
      const created = await t.request("/api/collections/posts/records", {
        method: "POST",
        headers: author.headers,
        json: { title: `broken ${fail}`, status: "published" },
      });
      const { id } = (await created.json()) as { id: string };
      for (let i = 0; i < 2; i++) {
        const res = await app.request(`/api/collections/posts/records/${id}`);
        expect(res.status).toBe(200);
        expect(((await res.json()) as { title: string }).title).toBe(`broken ${fail}`);
        expect(res.headers.get("x-cache")).toBe(fail === "match" ? "BYPASS" : "MISS");
        await t.platform.settle();
      }
      expect(t.log.events.some((e) => e.msg === `shared cache ${fail} failed`)).toBe(true);
    });
  }
});
