import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Home, type MakeHome, publishPost, q, readProblem, unique } from "./home";

const posts = "/api/collections/posts/records";

/**
 * The shared cache (a byte-bounded LRU in Node, the Cache API in workerd) and rate limits, as a
 * client sees them. Cached lists carry a filter of the test's own so no other test (or file,
 * in the workers home's shared database and cache) fills or spends the same entry.
 */
export function defineEdgeSuite(makeHome: MakeHome) {
  describe("shared cache", () => {
    let t: Home;
    beforeAll(async () => {
      t = await makeHome();
    });
    afterAll(() => t.close());

    it("serves public reads from the cache with HTTP caching headers, and 304s on If-None-Match", async () => {
      const author = await t.signIn();
      const title = unique("cached");
      await publishPost(t, author.headers, title);
      const url = `${posts}?limit=20&filter=${q(`title = '${title}'`)}`;
      const first = await t.request(url);
      expect(first.status).toBe(200);
      expect(first.headers.get("x-cache")).toBe("MISS");
      expect(first.headers.get("cache-control")).toBe(
        "public, max-age=0, s-maxage=10, stale-while-revalidate=30",
      );
      const etag = first.headers.get("etag")!;
      expect(etag).toMatch(/^"[0-9a-z]{10,24}-[0-9a-z]+"$/);
      await t.settle();

      const second = await t.request(url);
      expect(second.headers.get("x-cache")).toBe("HIT");
      expect(second.headers.get("server-timing")).toMatch(/cache;dur=[\d.]+;desc="hit"/);
      expect(await second.text()).toBe(await first.text());
      expect(second.headers.get("etag")).toBe(etag);

      const conditional = await t.request(url, { headers: { "if-none-match": etag } });
      expect(conditional.status).toBe(304);
      expect(await conditional.text()).toBe("");
    });

    it("normalises the key: query order does not split the cache", async () => {
      const filter = q(`title = '${unique("order")}'`);
      await t.request(`${posts}?limit=5&sort=-created&filter=${filter}`);
      await t.settle();
      const swapped = await t.request(`${posts}?filter=${filter}&sort=-created&limit=5`);
      expect(swapped.headers.get("x-cache")).toBe("HIT");
    });

    it("shows a write on the very next read", async () => {
      const author = await t.signIn();
      const { id } = await publishPost(t, author.headers, "before edit");
      await t.request(`${posts}/${id}`);
      await t.settle();
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
      await publishPost(t, user.headers, "mine");
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

    it("tags private answers by their body, and 304s them until the data changes", async () => {
      const user = await t.signIn();
      const { id } = await publishPost(t, user.headers, "tagged");
      const url = `${posts}?limit=2&filter=${encodeURIComponent(`author = '${user.id}'`)}`;
      const first = await t.request(url, { headers: user.headers });
      const etag = first.headers.get("etag")!;
      expect(etag).toMatch(/^"[0-9a-z]{10,24}-[0-9a-z]+"$/);
      const text = await first.text();
      expect(etag.endsWith(`-${new TextEncoder().encode(text).length.toString(36)}"`)).toBe(true);
      // The same answer again: the same tag; asked conditionally, 304 without a body, still private.
      expect((await t.request(url, { headers: user.headers })).headers.get("etag")).toBe(etag);
      const conditional = await t.request(url, {
        headers: { ...user.headers, "if-none-match": etag },
      });
      expect(conditional.status).toBe(304);
      expect(await conditional.text()).toBe("");
      expect(conditional.headers.get("cache-control")).toBe("private, no-store");
      // An edit changes the body, so the tag: the conditional request gets the new answer.
      const edit = await t.request(`${posts}/${id}`, {
        method: "PATCH",
        headers: user.headers,
        json: { title: "retagged" },
      });
      expect(edit.status).toBe(200);
      const after = await t.request(url, { headers: { ...user.headers, "if-none-match": etag } });
      expect(after.status).toBe(200);
      expect(after.headers.get("etag")).not.toBe(etag);
      expect(JSON.stringify(await after.json())).toContain("retagged");
    });
  });

  describe("rate limits", () => {
    it("answer 429 with Retry-After and the IETF RateLimit fields, per caller", async () => {
      const t = await makeHome({
        env: { RATE_LIMIT_WRITE: "3/60s", RATE_LIMIT_READ: "5/60s" },
      });
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
  });
}
