import { sqliteTable, text } from "drizzle-orm/sqlite-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collections } from "../../src/collections/index";
import { defineCollection, recordColumns } from "../../src/core/records/define";
import { createTestApp, readProblem, type TestApp } from "../harness";

const quiet = sqliteTable("quiet", { ...recordColumns(), title: text().notNull() });
const quietCollection = defineCollection(quiet, {
  idPrefix: "qui",
  events: false,
  rules: { create: "", view: "" },
});

interface EventRow {
  id: string;
  type: string;
  collection: string;
  record_id: string;
  actor: string;
  data: string;
  changed: string | null;
}

describe("outbox: an event exists iff its write committed", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ collections: [...collections, quietCollection] });
    await t.client.execute(
      "CREATE TABLE quiet (id text PRIMARY KEY, created text NOT NULL, updated text NOT NULL, rev integer NOT NULL DEFAULT 1, title text NOT NULL)",
    );
  });
  afterAll(() => t.close());

  async function eventsFor(recordIds: string[]): Promise<EventRow[]> {
    const rs = await t.client.execute({
      sql: `SELECT * FROM nb_events WHERE record_id IN (${recordIds.map(() => "?").join(",")}) ORDER BY id`,
      args: recordIds,
    });
    return rs.rows as unknown as EventRow[];
  }

  async function createPost(headers: Record<string, string>, title: string) {
    const res = await t.request("/api/collections/posts/records", {
      method: "POST",
      headers,
      json: { title, status: "published", tags: ["a"] },
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string };
  }

  it("create, update and delete each write one event with the record, actor and changed fields", async () => {
    const user = await t.signIn();
    const post = await createPost(user.headers, "first");
    // A hidden field (set by an operator, outside the API) never reaches an event.
    await t.client.execute({
      sql: "UPDATE posts SET moderation_note = 'secret note' WHERE id = ?",
      args: [post.id],
    });
    const admin = await t.signIn("admin");
    const upd = await t.request(`/api/collections/posts/records/${post.id}`, {
      method: "PATCH",
      headers: admin.headers,
      json: { title: "second" },
    });
    expect(upd.status).toBe(200);
    const del = await t.request(`/api/collections/posts/records/${post.id}`, {
      method: "DELETE",
      headers: user.headers,
    });
    expect(del.status).toBe(204);

    const rows = await eventsFor([post.id]);
    expect(rows.map((r) => r.type)).toEqual(["posts.created", "posts.updated", "posts.deleted"]);
    expect(rows.map((r) => r.actor)).toEqual([
      `user:${user.id}`,
      `user:${admin.id}`,
      `user:${user.id}`,
    ]);
    const created = JSON.parse(rows[0]!.data);
    expect(created).toMatchObject({ id: post.id, title: "first", tags: ["a"], author: user.id });
    expect(rows[0]!.changed).toBeNull();
    expect(JSON.parse(rows[1]!.data)).toMatchObject({ title: "second" });
    expect(JSON.parse(rows[1]!.changed!)).toEqual(["title"]);
    expect(JSON.parse(rows[2]!.data)).toMatchObject({ id: post.id, title: "second" });
    for (const row of rows) {
      expect(row.data).not.toContain("secret note");
      expect(Object.keys(JSON.parse(row.data))).not.toContain("moderationNote");
      expect(Object.keys(JSON.parse(row.data))).not.toContain("rev");
    }
    expect(new Set(rows.map((r) => r.id)).size).toBe(3);
    expect([...rows.map((r) => r.id)].sort()).toEqual(rows.map((r) => r.id));
  });

  it("a refused, 412 or constraint-breaking write writes no event", async () => {
    const owner = await t.signIn();
    const other = await t.signIn();
    const post = await createPost(owner.headers, "guarded");
    const before = (await eventsFor([post.id])).length;

    const refused = await t.request(`/api/collections/posts/records/${post.id}`, {
      method: "PATCH",
      headers: other.headers,
      json: { title: "hijack" },
    });
    expect(refused.status).toBe(403);
    const stale = await t.request(`/api/collections/posts/records/${post.id}`, {
      method: "PATCH",
      headers: { ...owner.headers, "if-match": `"${post.id}-99"` },
      json: { title: "stale" },
    });
    expect(stale.status).toBe(412);
    const deleteRefused = await t.request(`/api/collections/posts/records/${post.id}`, {
      method: "DELETE",
      headers: other.headers,
    });
    expect([403, 404]).toContain(deleteRefused.status);
    const anonymous = await t.request("/api/collections/posts/records", {
      method: "POST",
      json: { title: "anon" },
    });
    expect(anonymous.status).toBe(401);
    // A comment on a post that does not exist: the relation check rolls the batch back.
    const orphan = await t.request("/api/collections/comments/records", {
      method: "POST",
      headers: owner.headers,
      json: { post: "pst_doesnotexist00000", body: "x" },
    });
    expect(orphan.status).toBe(400);
    expect((await readProblem(orphan)).code).toBe("VALIDATION_FAILED");

    // A second profile for one user breaks the UNIQUE index: 409, and no event.
    const first = await t.request("/api/collections/profiles/records", {
      method: "POST",
      headers: owner.headers,
      json: { displayName: "Owner", email: "hidden@example.test" },
    });
    expect(first.status).toBe(201);
    const firstId = ((await first.json()) as { id: string }).id;
    const firstEvents = await eventsFor([firstId]);
    expect(firstEvents.length).toBe(1);
    expect(firstEvents[0]!.data).not.toContain("hidden@example.test");
    const second = await t.request("/api/collections/profiles/records", {
      method: "POST",
      headers: owner.headers,
      json: { displayName: "Twice" },
    });
    expect(second.status).toBe(409);

    expect((await eventsFor([post.id])).length).toBe(before);
    const strays = await t.client.execute(
      "SELECT count(*) AS n FROM nb_events WHERE data LIKE '%hijack%' OR data LIKE '%stale%' OR data LIKE '%anon%' OR data LIKE '%Twice%' OR collection = 'comments'",
    );
    expect(Number(strays.rows[0]!.n)).toBe(0);
  });

  it("a batch of N writes commits N events, or none when any operation fails", async () => {
    const user = await t.signIn();
    const marker = `batch-${crypto.randomUUID()}`;
    const ok = await t.request("/api/batch", {
      method: "POST",
      headers: user.headers,
      json: {
        operations: [
          { method: "POST", collection: "posts", body: { title: `${marker}-1` } },
          { method: "POST", collection: "posts", body: { title: `${marker}-2` } },
          { method: "POST", collection: "posts", body: { title: `${marker}-3` } },
        ],
      },
    });
    expect(ok.status).toBe(200);
    const { results } = (await ok.json()) as { results: { body: { id: string } }[] };
    const ids = results.map((r) => r.body.id);
    const rows = await eventsFor(ids);
    expect(rows.length).toBe(3);
    expect(rows.map((r) => r.record_id).sort()).toEqual([...ids].sort());

    const other = await t.signIn();
    const failed = await t.request("/api/batch", {
      method: "POST",
      headers: other.headers,
      json: {
        operations: [
          { method: "POST", collection: "posts", body: { title: `${marker}-4` } },
          { method: "PATCH", collection: "posts", id: ids[0], body: { title: `${marker}-5` } },
          { method: "DELETE", collection: "posts", id: ids[1] },
        ],
      },
    });
    expect([403, 404]).toContain(failed.status);
    const after = await t.client.execute({
      sql: "SELECT count(*) AS n FROM nb_events WHERE data LIKE ?",
      args: [`%${marker}%`],
    });
    // Only the first batch's three creates.
    expect(Number(after.rows[0]!.n)).toBe(3);
  });

  it("a collection with events: false writes none", async () => {
    const res = await t.request("/api/collections/quiet/records", {
      method: "POST",
      json: { title: "shh" },
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    expect(await eventsFor([id])).toEqual([]);
  });
});
