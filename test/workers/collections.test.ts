import { env, exports } from "cloudflare:workers";
import { createClient } from "@libsql/client/web";
import { describe, expect, it } from "vitest";

const call = (path: string, init?: RequestInit) =>
  exports.default.fetch(new Request(`http://nearbase.test${path}`, init));

describe("collections in workerd over libSQL HTTP", () => {
  it("lists and reads records the rules allow, filtered in SQL on the remote database", async () => {
    const db = createClient({ url: env.DATABASE_URL });
    const marker = `wk${Date.now()}`;
    const now = new Date().toISOString();
    await db.batch(
      [
        {
          sql: "INSERT INTO posts (id, created, updated, title, status, author, moderation_note) VALUES (?, ?, ?, ?, 'published', 'usr_a', 'secret-note')",
          args: [`pst_${marker}a`, now, now, `${marker} public`],
        },
        {
          sql: "INSERT INTO posts (id, created, updated, title, status, author) VALUES (?, ?, ?, ?, 'draft', 'usr_a')",
          args: [`pst_${marker}b`, now, now, `${marker} draft`],
        },
      ],
      "write",
    );
    db.close();

    const res = await call(
      `/api/collections/posts/records?filter=${encodeURIComponent(`title ~ '${marker}'`)}&total=true`,
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { items: { id: string; title: string }[]; total: number };
    expect(body.items.map((p) => p.title)).toEqual([`${marker} public`]);
    expect(body.total).toBe(1);
    expect(JSON.stringify(body)).not.toContain("secret-note");

    const one = await call(`/api/collections/posts/records/pst_${marker}a`);
    expect(one.status).toBe(200);
    expect(one.headers.get("etag")).toBe(`"pst_${marker}a.1"`);
    expect((await call(`/api/collections/posts/records/pst_${marker}b`)).status).toBe(404);
  });

  it("refuses anonymous writes and bad filters with problems", async () => {
    const create = await call("/api/collections/posts/records", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ title: "nope" }),
    });
    expect(create.status).toBe(401);
    const bad = await call(
      `/api/collections/posts/records?filter=${encodeURIComponent("title = 'x' ; DROP TABLE posts")}`,
    );
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: "INVALID_FILTER" });
  });

  it("serves many concurrent requests from one isolate without any hanging", async () => {
    // Regression: the shared libSQL client's default concurrency limit queued one request's
    // statements behind another's, and workerd cancelled the waiting requests as hung.
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        call(`/api/collections/posts/records?limit=${(i % 20) + 1}&total=true`),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
  });
});
