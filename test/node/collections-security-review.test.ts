import { sql } from "drizzle-orm";
import { sqliteTable, text } from "drizzle-orm/sqlite-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineCollection, recordColumns } from "../../src/core/records/define";
import { createTestApp, readProblem, type TestApp } from "../harness";

/**
 * Regression tests for the outside security review (issue 10), collections half: each case
 * failed on the code before the fix.
 */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

type Caller = Awaited<ReturnType<TestApp["signIn"]>>;
const records = (collection: string, rest = "") => `/api/collections/${collection}/records${rest}`;

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
    const res = await t.request("/api/batch", {
      method: "POST",
      headers: attacker.headers,
      json: {
        operations: [
          { method: "POST", collection: "posts", body: { title: "mine", status: "published" } },
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
    const mine = await list(`${records("posts")}?filter=${encodeURIComponent("title = 'mine'")}`, {
      ...attacker.headers,
    });
    expect(mine.filter((p) => p.author === attacker.id)).toEqual([]);
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
    expect(await probe("post = '" + post.id + "'", reader)).toHaveLength(1);
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

  it("interrupts a read that outlives the budget, and serves other requests meanwhile", async () => {
    const slow = await createTestApp({ readBudgetMs: 150 });
    try {
      const author = await slow.signIn();
      // 20,000-character bodies that almost match: LIKE is O(text × pattern) on each.
      const body = "a".repeat(20_000);
      const operations = Array.from({ length: 50 }, (_, i) => ({
        method: "POST",
        collection: "posts",
        body: { title: `long ${i}`, body, status: "published" },
      }));
      for (let i = 0; i < 6; i++) {
        const res = await slow.request("/api/batch", {
          method: "POST",
          headers: author.headers,
          json: { operations },
        });
        expect(res.status).toBe(200);
      }
      const filter = `body ~ '${"a".repeat(99)}b' && title ~ 'long'`;
      const order: string[] = [];
      const heavy = slow
        .request(`${records("posts")}?limit=200&filter=${encodeURIComponent(filter)}`)
        .then((res) => {
          order.push("heavy");
          return res;
        });
      const health = slow.request("/health").then((res) => {
        order.push("health");
        return res;
      });
      const [heavyRes, healthRes] = await Promise.all([heavy, health]);
      expect(healthRes.status).toBe(200);
      expect(order[0]).toBe("health");
      expect(heavyRes.status).toBe(400);
      expect((await readProblem(heavyRes)).code).toBe("QUERY_TOO_EXPENSIVE");
      // The connection is usable again at once.
      const after = await slow.request(`${records("posts")}?limit=1`);
      expect(after.status).toBe(200);
    } finally {
      await slow.close();
    }
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

describe("list fields: plain operators match all values, ? operators any (review item 10)", () => {
  const notes = sqliteTable("notes", {
    ...recordColumns(),
    title: text().notNull(),
    editors: text({ mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
  });
  const notesCollection = defineCollection(notes, {
    idPrefix: "nte",
    rules: {
      list: "editors = @request.auth.id",
      view: "editors ?= @request.auth.id",
    },
  });
  let n: TestApp;
  beforeAll(async () => {
    n = await createTestApp({ collections: [notesCollection] });
    await n.client.execute(
      `CREATE TABLE notes (id text PRIMARY KEY, created text NOT NULL, updated text NOT NULL,
        rev integer NOT NULL DEFAULT 1, title text NOT NULL, editors text NOT NULL DEFAULT '[]')`,
    );
  });
  afterAll(() => n.close());

  async function seed(title: string, editors: string[]) {
    const now = new Date().toISOString();
    const id = `nte_${title.replace(/\W/g, "").toLowerCase()}`;
    await n.client.execute({
      sql: "INSERT INTO notes (id, created, updated, title, editors) VALUES (?, ?, ?, ?, ?)",
      args: [id, now, now, title, JSON.stringify(editors)],
    });
    return id;
  }

  it("an empty list satisfies neither a plain nor an any-of rule", async () => {
    const editor = await n.signIn();
    const stranger = await n.signIn();
    const orphan = await seed("orphan", []);
    const shared = await seed("shared", [editor.id, "usr_someoneelse"]);
    const solo = await seed("solo", [editor.id]);
    const ids = async (caller: Caller) =>
      (await n
        .request("/api/collections/notes/records", { headers: caller.headers })
        .then((r) => r.json())) as { items: { id: string }[] };
    // list: `editors = me` is match-all: only notes whose every editor is me, never empty ones.
    expect((await ids(editor)).items.map((i) => i.id)).toEqual([solo]);
    expect((await ids(stranger)).items).toEqual([]);
    // view: `editors ?= me` is any-of.
    for (const [id, editorSees] of [
      [orphan, false],
      [shared, true],
      [solo, true],
    ] as const) {
      const asEditor = await n.request(`/api/collections/notes/records/${id}`, {
        headers: editor.headers,
      });
      expect(asEditor.status, id).toBe(editorSees ? 200 : 404);
      const asStranger = await n.request(`/api/collections/notes/records/${id}`, {
        headers: stranger.headers,
      });
      expect(asStranger.status, id).toBe(404);
    }
  });

  it("client filters use the same semantics, and :length tests emptiness", async () => {
    const admin = await n.signIn("admin");
    const tag = `t${Date.now()}`;
    await seed(`${tag} none`, []);
    await seed(`${tag} one`, ["x"]);
    await seed(`${tag} mixed`, ["x", "y"]);
    const titles = async (filter: string) =>
      (
        (await n
          .request(
            `/api/collections/notes/records?sort=title&filter=${encodeURIComponent(`title ~ '${tag}' && (${filter})`)}`,
            { headers: admin.headers },
          )
          .then((r) => r.json())) as { items: { title: string }[] }
      ).items.map((i) => i.title.slice(tag.length + 1));
    expect(await titles("editors = 'nonexistent'")).toEqual([]);
    expect(await titles("editors = 'x'")).toEqual(["one"]);
    expect(await titles("editors ?= 'x'")).toEqual(["mixed", "one"]);
    expect(await titles("editors != 'y'")).toEqual(["one"]);
    expect(await titles("editors:length = 0")).toEqual(["none"]);
    expect(await titles("editors:length >= 1")).toEqual(["mixed", "one"]);
    const bad = await n.request(
      `/api/collections/notes/records?filter=${encodeURIComponent("title:length = 1")}`,
      { headers: admin.headers },
    );
    expect((await readProblem(bad)).code).toBe("INVALID_FILTER");
  });
});

describe("edge caching (review, low items)", () => {
  it("the writer's own process serves its write to the next anonymous reader", async () => {
    const author = await t.signIn();
    const marker = `fresh${Date.now()}`;
    const url = `${records("posts")}?filter=${encodeURIComponent(`title = '${marker}'`)}`;
    expect(await list(url)).toEqual([]);
    const again = await t.request(url);
    expect(again.headers.get("x-cache")).toBe("HIT");
    await create(author, "posts", { title: marker, status: "published" });
    // No clock advance: the very next anonymous read misses the old entry.
    expect(await list(url)).toHaveLength(1);
  });

  it("a consistency token with a deadline beyond the window is ignored", async () => {
    const url = `${records("posts")}?limit=3`;
    await t.request(url);
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
    const second = await t.request(url, { headers: { ...reader.headers, "if-none-match": etag } });
    expect(second.status).toBe(200);
    expect(second.headers.get("etag")).not.toBe(etag);
    expect(
      ((await second.json()) as { expand: { post: { title: string } } }).expand.post.title,
    ).toBe("after");
  });

  it("a cached answer carries the current caller's CORS headers, not the first caller's", async () => {
    const cors = await createTestApp({
      env: { CORS_ORIGINS: "https://a.example,https://b.example" },
    });
    try {
      const url = records("profiles");
      const a = await cors.request(url, { headers: { origin: "https://a.example" } });
      expect(a.headers.get("access-control-allow-origin")).toBe("https://a.example");
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
