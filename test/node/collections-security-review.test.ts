import { sql } from "drizzle-orm";
import { sqliteTable, text } from "drizzle-orm/sqlite-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineCollection, recordColumns } from "../../src/core/records/define";
import { createTestApp, readProblem, type TestApp } from "../harness";

/**
 * Regression tests for the outside security review (issue 10), collections half, that need
 * Node-only hooks: the embedded read budget (Workers have no such budget: libSQL over HTTP is
 * bounded by the server), and fixture collections with their own tables (the worker serves the
 * example app's). The rest runs in both homes: test/conformance/collections-security-review.suite.ts.
 */
type Caller = Awaited<ReturnType<TestApp["signIn"]>>;
const records = (collection: string, rest = "") => `/api/collections/${collection}/records${rest}`;

describe("no request can hold the process (review item 2)", () => {
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

describe("a read the server was too slow for is not blamed on the client", () => {
  // A collection whose OWN list rule is costly (the developer's, not the caller's): 300 rows of
  // 20,000-character near-miss bodies under a 150 ms read budget.
  const slowNotes = sqliteTable("slow_notes", {
    ...recordColumns(),
    title: text().notNull(),
    body: text().notNull(),
  });
  const slowCollection = defineCollection(slowNotes, {
    idPrefix: "sln",
    rules: { list: `body ~ '${"a".repeat(99)}b'`, view: "" },
  });

  it("answers 503 with Retry-After when no client filter shaped the read, 400 when one did", async () => {
    const slow = await createTestApp({ readBudgetMs: 150, collections: [slowCollection] });
    try {
      await slow.client.execute(
        `CREATE TABLE slow_notes (id text PRIMARY KEY, created text NOT NULL, updated text NOT NULL,
          rev integer NOT NULL DEFAULT 1, title text NOT NULL, body text NOT NULL)`,
      );
      await slow.client.execute(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
         INSERT INTO slow_notes (id, created, updated, title, body)
         SELECT printf('sln_%05d', i), '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z',
                'note ' || i, printf('%.20000c', 'a') FROM n`,
      );
      const list = "/api/collections/slow_notes/records?limit=20";
      const unfiltered = await slow.request(list);
      expect(unfiltered.status).toBe(503);
      expect(unfiltered.headers.get("retry-after")).toMatch(/^\d+$/);
      expect((await readProblem(unfiltered)).code).toBe("UNAVAILABLE");
      const filtered = await slow.request(`${list}&filter=${encodeURIComponent("title ~ 'note'")}`);
      expect(filtered.status).toBe(400);
      expect((await readProblem(filtered)).code).toBe("QUERY_TOO_EXPENSIVE");
      // One record by id is cheap whatever the list rule costs, and is served.
      const one = await slow.request("/api/collections/slow_notes/records/sln_00007");
      expect(one.status).toBe(200);
    } finally {
      await slow.close();
    }
  });
});

describe("list fields: plain operators match all values, ? operators any (review item 10)", () => {
  const notes = sqliteTable("shared_notes", {
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
      `CREATE TABLE shared_notes (id text PRIMARY KEY, created text NOT NULL, updated text NOT NULL,
        rev integer NOT NULL DEFAULT 1, title text NOT NULL, editors text NOT NULL DEFAULT '[]')`,
    );
  });
  afterAll(() => n.close());

  async function seed(title: string, editors: string[]) {
    const now = new Date().toISOString();
    const id = `nte_${title.replace(/\W/g, "").toLowerCase()}`;
    await n.client.execute({
      sql: "INSERT INTO shared_notes (id, created, updated, title, editors) VALUES (?, ?, ?, ?, ?)",
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
        .request("/api/collections/shared_notes/records", { headers: caller.headers })
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
      const asEditor = await n.request(`/api/collections/shared_notes/records/${id}`, {
        headers: editor.headers,
      });
      expect(asEditor.status, id).toBe(editorSees ? 200 : 404);
      const asStranger = await n.request(`/api/collections/shared_notes/records/${id}`, {
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
            `/api/collections/shared_notes/records?sort=title&filter=${encodeURIComponent(`title ~ '${tag}' && (${filter})`)}`,
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
      `/api/collections/shared_notes/records?filter=${encodeURIComponent("title:length = 1")}`,
      { headers: admin.headers },
    );
    expect((await readProblem(bad)).code).toBe("INVALID_FILTER");
  });
});
