import { sqliteTable, text } from "drizzle-orm/sqlite-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineCollection, recordColumns } from "../../src/core/records/define";
import { createTestApp, type TestApp } from "../harness";

interface Event {
  type: string;
  recordId: string;
  actor: string;
  occurredAt: number;
  data: Record<string, unknown>;
}

async function eventsOf(t: TestApp, recordIds: string[]): Promise<Event[]> {
  const rs = await t.client.execute({
    sql: `SELECT * FROM nb_events WHERE record_id IN (${recordIds.map(() => "?").join(",")}) ORDER BY id`,
    args: recordIds,
  });
  return rs.rows.map((r) => ({
    type: String(r.type),
    recordId: String(r.record_id),
    actor: String(r.actor),
    occurredAt: Number(r.occurred_at),
    data: JSON.parse(String(r.data)) as Record<string, unknown>,
  }));
}

describe("ON DELETE CASCADE: every removed row gets its event, in the delete's batch", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  async function post(headers: Record<string, string>, title: string) {
    const res = await t.request("/api/collections/posts/records", {
      method: "POST",
      headers,
      json: { title, status: "published" },
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }
  async function child(
    collection: "comments" | "bookmarks",
    headers: Record<string, string>,
    json: Record<string, unknown>,
  ) {
    const res = await t.request(`/api/collections/${collection}/records`, {
      method: "POST",
      headers,
      json,
    });
    expect(res.status, await res.clone().text()).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }

  it("deleting a post: comments.deleted and bookmarks.deleted for each removed row", async () => {
    const author = await t.signIn();
    const reader = await t.signIn();
    const doomed = await post(author.headers, "doomed");
    const kept = await post(author.headers, "kept");
    const comments = [
      await child("comments", reader.headers, { post: doomed, body: "one" }),
      await child("comments", author.headers, { post: doomed, body: "two" }),
      await child("comments", reader.headers, { post: doomed, body: "three" }),
    ];
    const bookmark = await child("bookmarks", reader.headers, { post: doomed, note: "mine" });
    const survivor = await child("comments", reader.headers, { post: kept, body: "stays" });

    // Someone else may not delete it: nothing is removed and no event is written.
    const refused = await t.request(`/api/collections/posts/records/${doomed}`, {
      method: "DELETE",
      headers: reader.headers,
    });
    expect([403, 404]).toContain(refused.status);
    expect(
      (await eventsOf(t, [...comments, bookmark])).filter((e) => e.type.endsWith(".deleted")),
    ).toEqual([]);

    const del = await t.request(`/api/collections/posts/records/${doomed}`, {
      method: "DELETE",
      headers: author.headers,
    });
    expect(del.status).toBe(204);
    const deleted = (await eventsOf(t, [doomed, ...comments, bookmark, survivor])).filter((e) =>
      e.type.endsWith(".deleted"),
    );
    expect(deleted.map((e) => [e.type, e.recordId]).sort()).toEqual(
      [
        ["posts.deleted", doomed],
        ["bookmarks.deleted", bookmark],
        ...comments.map((c) => ["comments.deleted", c]),
      ].sort(),
    );
    // One batch, one actor: the post's author deleted them all.
    expect(new Set(deleted.map((e) => e.occurredAt)).size).toBe(1);
    expect(new Set(deleted.map((e) => e.actor))).toEqual(new Set([`user:${author.id}`]));
    const first = deleted.find((e) => e.recordId === comments[0])!;
    expect(first.data).toMatchObject({ id: comments[0], post: doomed, body: "one" });
    expect(Object.keys(first.data)).not.toContain("rev");
    expect(deleted.find((e) => e.recordId === bookmark)!.data).toMatchObject({ note: "mine" });
    const left = await t.client.execute({
      sql: "SELECT count(*) AS n FROM comments WHERE post = ?",
      args: [kept],
    });
    expect(Number(left.rows[0]!.n)).toBe(1);
  });

  it("through /api/batch too; a failing batch removes nothing and writes no event", async () => {
    const author = await t.signIn();
    const other = await t.signIn();
    const a = await post(author.headers, "batch a");
    const b = await post(author.headers, "batch b");
    const ca = await child("comments", other.headers, { post: a, body: "on a" });
    const cb = await child("comments", other.headers, { post: b, body: "on b" });
    const failed = await t.request("/api/batch", {
      method: "POST",
      headers: author.headers,
      json: {
        operations: [
          { method: "DELETE", collection: "posts", id: a },
          { method: "DELETE", collection: "comments", id: cb }, // not the author's comment
        ],
      },
    });
    expect([403, 404]).toContain(failed.status);
    expect((await eventsOf(t, [ca])).map((e) => e.type)).toEqual(["comments.created"]);

    const ok = await t.request("/api/batch", {
      method: "POST",
      headers: author.headers,
      json: {
        operations: [
          { method: "DELETE", collection: "posts", id: a },
          { method: "DELETE", collection: "posts", id: b },
        ],
      },
    });
    expect(ok.status).toBe(200);
    const events = (await eventsOf(t, [ca, cb])).filter((e) => e.type === "comments.deleted");
    expect(events.map((e) => e.recordId).sort()).toEqual([ca, cb].sort());
  });
});

// parent → child (events: false, a hidden field) → grandchild (a hidden field), all CASCADE.
const parents = sqliteTable("cas_parents", { ...recordColumns(), name: text().notNull() });
const children = sqliteTable("cas_children", {
  ...recordColumns(),
  parent: text()
    .notNull()
    .references(() => parents.id, { onDelete: "cascade" }),
  secret: text(),
});
const grandchildren = sqliteTable("cas_grandchildren", {
  ...recordColumns(),
  child: text()
    .notNull()
    .references(() => children.id, { onDelete: "cascade" }),
  label: text().notNull(),
  secret: text(),
});
const open = { list: "", view: "", create: "", update: "", delete: "" };
const cascadeCollections = [
  defineCollection(parents, { idPrefix: "cpa", rules: open }),
  defineCollection(children, {
    idPrefix: "cch",
    events: false,
    hidden: ["secret"],
    relations: { parent: "cas_parents" },
    rules: open,
  }),
  defineCollection(grandchildren, {
    idPrefix: "cgc",
    hidden: ["secret"],
    relations: { child: "cas_children" },
    rules: open,
  }),
];

describe("cascades down a chain, respecting events: false and hidden fields", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ collections: cascadeCollections });
    const cols =
      "id text PRIMARY KEY, created text NOT NULL, updated text NOT NULL, rev integer NOT NULL DEFAULT 1";
    await t.client.batch(
      [
        `CREATE TABLE cas_parents (${cols}, name text NOT NULL)`,
        `CREATE TABLE cas_children (${cols}, parent text NOT NULL REFERENCES cas_parents(id) ON DELETE CASCADE, secret text)`,
        `CREATE TABLE cas_grandchildren (${cols}, child text NOT NULL REFERENCES cas_children(id) ON DELETE CASCADE, label text NOT NULL, secret text)`,
      ],
      "write",
    );
  });
  afterAll(() => t.close());

  const create = async (collection: string, json: Record<string, unknown>) => {
    const res = await t.request(`/api/collections/${collection}/records`, {
      method: "POST",
      json,
    });
    expect(res.status, await res.clone().text()).toBe(201);
    return ((await res.json()) as { id: string }).id;
  };

  it("grandchildren get events; the quiet child none; no hidden field in any", async () => {
    const parent = await create("cas_parents", { name: "p" });
    const child = await create("cas_children", { parent });
    const grand = [
      await create("cas_grandchildren", { child, label: "g1" }),
      await create("cas_grandchildren", { child, label: "g2" }),
    ];
    await t.client.execute({
      sql: "UPDATE cas_grandchildren SET secret = 'hush' WHERE child = ?",
      args: [child],
    });
    const del = await t.request(`/api/collections/cas_parents/records/${parent}`, {
      method: "DELETE",
    });
    expect(del.status).toBe(204);
    const events = (await eventsOf(t, [parent, child, ...grand])).filter((e) =>
      e.type.endsWith(".deleted"),
    );
    expect(events.map((e) => [e.type, e.recordId]).sort()).toEqual(
      [
        ["cas_parents.deleted", parent],
        ...grand.map((g) => ["cas_grandchildren.deleted", g]),
      ].sort(),
    );
    for (const e of events) {
      expect(JSON.stringify(e.data)).not.toContain("hush");
      expect(Object.keys(e.data)).not.toContain("secret");
    }
    expect(events.find((e) => e.recordId === grand[1])!.data).toMatchObject({
      label: "g2",
      child,
    });
    const rows = await t.client.execute("SELECT count(*) AS n FROM cas_grandchildren");
    expect(Number(rows.rows[0]!.n)).toBe(0);
  });
});
