import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Home, type MakeHome, readProblem, type SignedIn, unique } from "./home";

/**
 * Regression tests for the outside security review (issue 10), collections half: each case
 * failed on the code before the fix. The cases that need Node-only hooks (the embedded read
 * budget, fixture collections) are in test/node/collections-security-review.test.ts.
 */
export function defineCollectionsSecurityReviewSuite(makeHome: MakeHome) {
  let t: Home;
  beforeAll(async () => {
    t = await makeHome();
  });
  afterAll(() => t.close());

  type Caller = SignedIn;
  const records = (collection: string, rest = "") =>
    `/api/collections/${collection}/records${rest}`;

  async function create(caller: Caller, collection: string, json: Record<string, unknown>) {
    const res = await t.request(records(collection), {
      method: "POST",
      headers: caller.headers,
      json,
    });
    expect(res.status, await res.clone().text()).toBe(201);
    return (await res.json()) as Record<string, unknown> & { id: string };
  }

  async function list(path: string, headers: Record<string, string> = {}) {
    const res = await t.request(path, { headers });
    expect(res.status, await res.clone().text()).toBe(200);
    return ((await res.json()) as { items: Record<string, unknown>[] }).items;
  }

  describe("relations follow the target's view rule (review item 1)", () => {
    it("refuses a relation to another user's draft exactly like one to a missing record", async () => {
      const victim = await t.signIn();
      const attacker = await t.signIn();
      const draft = await create(victim, "posts", { title: "secret plan", status: "draft" });
      const answers = [];
      for (const post of [draft.id, "pst_doesnotexist0000"]) {
        const res = await t.request(records("bookmarks"), {
          method: "POST",
          headers: attacker.headers,
          json: { post },
        });
        const problem = await readProblem(res);
        answers.push({ status: res.status, code: problem.code, errors: problem.errors });
      }
      expect(answers[0]).toEqual(answers[1]);
      expect(answers[0]).toMatchObject({
        status: 400,
        code: "VALIDATION_FAILED",
        errors: [{ path: "/post", message: "no such record" }],
      });
      // The owner of the draft may point at it; nothing was written for the attacker.
      await create(victim, "bookmarks", { post: draft.id });
      expect(await list(records("bookmarks"), attacker.headers)).toEqual([]);
    });

    it("refuses the same in a batch, and applies none of its writes", async () => {
      const victim = await t.signIn();
      const attacker = await t.signIn();
      const draft = await create(victim, "posts", { title: "batch secret", status: "draft" });
      const mine = unique("mine");
      const res = await t.request("/api/batch", {
        method: "POST",
        headers: attacker.headers,
        json: {
          operations: [
            { method: "POST", collection: "posts", body: { title: mine, status: "published" } },
            { method: "POST", collection: "bookmarks", body: { post: draft.id } },
          ],
        },
      });
      const problem = await readProblem(res);
      expect(res.status).toBe(400);
      expect(problem).toMatchObject({
        code: "VALIDATION_FAILED",
        errors: [{ path: "/operations/1/body/post" }],
      });
      const written = await list(
        `${records("posts")}?filter=${encodeURIComponent(`title = '${mine}'`)}`,
        { ...attacker.headers },
      );
      expect(written.filter((p) => p.author === attacker.id)).toEqual([]);
    });

    it("lets a batch point at a record it created itself", async () => {
      const user = await t.signIn();
      const res = await t.request("/api/batch", {
        method: "POST",
        headers: user.headers,
        json: {
          operations: [
            { method: "POST", collection: "posts", body: { title: "fresh", status: "draft" } },
          ],
        },
      });
      const { results } = (await res.json()) as { results: { body: { id: string } }[] };
      // Own draft: visible to its author, so the author may bookmark it.
      await create(user, "bookmarks", { post: results[0]!.body.id });
    });

    it("filters through a relation see only related records the caller may view", async () => {
      const author = await t.signIn();
      const reader = await t.signIn();
      const post = await create(author, "posts", {
        title: "was public",
        body: "the launch code is 7Q",
        status: "published",
      });
      await create(reader, "bookmarks", { post: post.id });
      // The author takes the post back to a draft: the reader's bookmark still points at it.
      const unpublish = await t.request(records("posts", `/${post.id}`), {
        method: "PATCH",
        headers: author.headers,
        json: { status: "draft" },
      });
      expect(unpublish.status).toBe(200);
      const probe = (filter: string, caller: Caller) =>
        list(`${records("bookmarks")}?filter=${encodeURIComponent(filter)}`, caller.headers);
      // Character by character recovery of the draft's text is no longer possible…
      expect(await probe("post.body ~ 'launch code is 7'", reader)).toEqual([]);
      expect(await probe("post.title = 'was public'", reader)).toEqual([]);
      expect(await probe("post.status = 'draft'", reader)).toEqual([]);
      // …while the bookmark itself is still there, and the post's author still matches its own.
      expect(await probe(`post = '${post.id}'`, reader)).toHaveLength(1);
      await create(author, "bookmarks", { post: post.id });
      expect(await probe("post.body ~ 'launch code is 7'", author)).toHaveLength(1);
    });

    it("sorting and expanding through a relation reveal nothing either", async () => {
      const author = await t.signIn();
      const reader = await t.signIn();
      const post = await create(author, "posts", { title: "soon hidden", status: "published" });
      await create(reader, "bookmarks", { post: post.id });
      await t.request(records("posts", `/${post.id}`), {
        method: "PATCH",
        headers: author.headers,
        json: { status: "draft" },
      });
      const sorted = await t.request(`${records("bookmarks")}?sort=post.title`, {
        headers: reader.headers,
      });
      expect(sorted.status).toBe(400);
      const items = await list(`${records("bookmarks")}?expand=post`, reader.headers);
      expect(items).toHaveLength(1);
      expect((items[0]!.expand as { post: unknown }).post).toBeNull();
    });
  });

  describe("no request can hold the process (review item 2)", () => {
    it("refuses filters over the cost limits with a clear 400", async () => {
      const cases = [
        `title ~ '${"a".repeat(101)}'`,
        Array.from({ length: 5 }, (_, i) => `title ~ 'x${i}'`).join(" || "),
        Array.from({ length: 9 }, (_, i) => `post.title = 'x${i}'`).join(" || "),
      ];
      for (const filter of cases) {
        const collection = filter.startsWith("post.") ? "comments" : "posts";
        const res = await t.request(`${records(collection)}?filter=${encodeURIComponent(filter)}`);
        expect(res.status, filter).toBe(400);
        const problem = await readProblem(res);
        expect(problem.code).toBe("INVALID_FILTER");
        expect(problem.detail).toMatch(/too expensive/);
      }
      // At the limits it still works.
      const ok = await t.request(
        `${records("posts")}?filter=${encodeURIComponent(`title ~ '${"a".repeat(100)}'`)}`,
      );
      expect(ok.status).toBe(200);
    });
  });

  describe("answers that read the caller are never shared (review items 5 and 6)", () => {
    it("a client filter that reads @request.auth is not served to another caller", async () => {
      const a = await t.signIn();
      const b = await t.signIn();
      await create(a, "profiles", { displayName: "Alice" });
      await create(b, "profiles", { displayName: "Bob" });
      const mine = `${records("profiles")}?filter=${encodeURIComponent("user = @request.auth.id")}`;
      const first = await t.request(mine, { headers: a.headers });
      expect(((await first.json()) as { items: { displayName: string }[] }).items).toEqual([
        expect.objectContaining({ displayName: "Alice" }),
      ]);
      const second = await t.request(mine, { headers: b.headers });
      expect(second.headers.get("x-cache")).toBe("BYPASS");
      expect(((await second.json()) as { items: { displayName: string }[] }).items).toEqual([
        expect.objectContaining({ displayName: "Bob" }),
      ]);
    });

    it("a filter through a relation whose view rule reads the caller is not shared either", async () => {
      const user = await t.signIn();
      const filter = `${records("comments")}?filter=${encodeURIComponent("post.title ~ 'x'")}`;
      // The posts view rule reads @request.auth: signed-in answers bypass the shared cache.
      await t.request(filter, { headers: user.headers });
      const again = await t.request(filter, { headers: user.headers });
      expect(again.headers.get("x-cache")).toBe("BYPASS");
    });

    it("whatever an admin, a user or an API key receives is private", async () => {
      const admin = await t.signIn("admin");
      const user = await t.signIn();
      const keyRes = await t.request("/api/keys", {
        method: "POST",
        headers: user.headers,
        json: { name: "reader", scopes: ["read"] },
      });
      expect(keyRes.status).toBe(201);
      const { key } = (await keyRes.json()) as { key: string };
      const url = records("profiles");
      const anonymous = await t.request(url);
      expect(anonymous.headers.get("cache-control")).toMatch(/^public/);
      for (const headers of [admin.headers, user.headers, { authorization: `Bearer ${key}` }]) {
        const res = await t.request(url, { headers });
        expect(res.status).toBe(200);
        expect(res.headers.get("cache-control")).toBe("private, no-store");
      }
    });
  });

  describe("edge caching (review, low items)", () => {
    it("the writer's own process serves its write to the next anonymous reader", async () => {
      const author = await t.signIn();
      const marker = unique("fresh");
      const url = `${records("posts")}?filter=${encodeURIComponent(`title = '${marker}'`)}`;
      expect(await list(url)).toEqual([]);
      await t.settle();
      const again = await t.request(url);
      expect(again.headers.get("x-cache")).toBe("HIT");
      await create(author, "posts", { title: marker, status: "published" });
      // No clock advance: the very next anonymous read misses the old entry.
      expect(await list(url)).toHaveLength(1);
    });

    it("a consistency token with a deadline beyond the window is ignored", async () => {
      const url = `${records("posts")}?limit=3`;
      await t.request(url);
      await t.settle();
      const farFuture = Date.now() + 365 * 24 * 3600 * 1000;
      const forged = await t.request(url, {
        headers: { "nearbase-consistency": `v1.${farFuture}.c:posts=999999999` },
      });
      expect(forged.headers.get("x-cache")).toBe("HIT");
      const honest = await t.request(url, {
        headers: { "nearbase-consistency": `v1.${Date.now() + 5000}.c:posts=999999999` },
      });
      expect(honest.headers.get("x-cache")).toBe("BYPASS");
    });

    it("the ETag of an expanded record changes when the related record does", async () => {
      const author = await t.signIn();
      const reader = await t.signIn();
      const post = await create(author, "posts", { title: "before", status: "published" });
      const bookmark = await create(reader, "bookmarks", { post: post.id });
      const url = records("bookmarks", `/${bookmark.id}?expand=post`);
      const first = await t.request(url, { headers: reader.headers });
      const etag = first.headers.get("etag")!;
      await t.request(records("posts", `/${post.id}`), {
        method: "PATCH",
        headers: author.headers,
        json: { title: "after" },
      });
      const second = await t.request(url, {
        headers: { ...reader.headers, "if-none-match": etag },
      });
      expect(second.status).toBe(200);
      expect(second.headers.get("etag")).not.toBe(etag);
      expect(
        ((await second.json()) as { expand: { post: { title: string } } }).expand.post.title,
      ).toBe("after");
    });

    it("a cached answer carries the current caller's CORS headers, not the first caller's", async () => {
      const cors = await makeHome({
        env: { CORS_ORIGINS: "https://a.example,https://b.example" },
      });
      try {
        const url = records("profiles");
        const a = await cors.request(url, { headers: { origin: "https://a.example" } });
        expect(a.headers.get("access-control-allow-origin")).toBe("https://a.example");
        await cors.settle();
        const b = await cors.request(url, { headers: { origin: "https://b.example" } });
        expect(b.headers.get("x-cache")).toBe("HIT");
        expect(b.headers.get("access-control-allow-origin")).toBe("https://b.example");
        const evil = await cors.request(url, { headers: { origin: "https://evil.example" } });
        expect(evil.headers.get("x-cache")).toBe("HIT");
        expect(evil.headers.get("access-control-allow-origin")).toBeNull();
      } finally {
        await cors.close();
      }
    });
  });
}
