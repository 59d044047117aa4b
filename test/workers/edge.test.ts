import { env, exports } from "cloudflare:workers";
import { createClient } from "@libsql/client/web";
import { describe, expect, it } from "vitest";

const call = (path: string, init?: RequestInit) =>
  exports.default.fetch(new Request(`https://nearbase.test${path}`, init));
const settle = () => new Promise((r) => setTimeout(r, 100));

async function seedPost(title: string) {
  const db = createClient({ url: env.DATABASE_URL });
  const now = new Date().toISOString();
  const id = `pst_${Math.random().toString(36).slice(2, 12)}`;
  await db.execute({
    sql: "INSERT INTO posts (id, created, updated, title, status, author) VALUES (?, ?, ?, ?, 'published', 'usr_wk')",
    args: [id, now, now, title],
  });
  db.close();
  return id;
}

describe("edge cache in workerd (Cache API)", () => {
  it("misses, then hits, then answers 304 to If-None-Match", async () => {
    const id = await seedPost("cache me");
    const first = await call(`/api/collections/posts/records/${id}`);
    expect(first.status).toBe(200);
    expect(first.headers.get("x-cache")).toBe("MISS");
    expect(first.headers.get("cache-control")).toMatch(/^public, .*s-maxage=10/);
    await settle();
    const second = await call(`/api/collections/posts/records/${id}`);
    expect(second.headers.get("x-cache")).toBe("HIT");
    const etag = second.headers.get("etag")!;
    expect(etag).toBe(`"${id}.1"`);
    const notModified = await call(`/api/collections/posts/records/${id}`, {
      headers: { "if-none-match": etag },
    });
    expect(notModified.status).toBe(304);
  });

  it("stops serving an entry once the data version moves, without any purge", async () => {
    const id = await seedPost("old title");
    await call(`/api/collections/posts/records/${id}`);
    await settle();
    expect((await call(`/api/collections/posts/records/${id}`)).headers.get("x-cache")).toBe("HIT");

    // Another location writes: data and version change in libSQL; this isolate's cache is untouched.
    const db = createClient({ url: env.DATABASE_URL });
    await db.batch(
      [
        { sql: "UPDATE posts SET title = 'new title', rev = rev + 1 WHERE id = ?", args: [id] },
        {
          sql: "INSERT INTO nb_versions (scope, version, updated_at) VALUES ('c:posts', 1, 0) ON CONFLICT (scope) DO UPDATE SET version = version + 1",
          args: [],
        },
      ],
      "write",
    );
    db.close();
    // Within the version memo (1 s) the old entry may still be served; after it, never.
    await new Promise((r) => setTimeout(r, 1100));
    const after = await call(`/api/collections/posts/records/${id}`);
    expect(after.headers.get("x-cache")).toBe("MISS");
    expect(((await after.json()) as { title: string }).title).toBe("new title");
  });

  it("sends the RateLimit fields on API responses", async () => {
    const res = await call("/api/collections/posts/records?limit=1");
    expect(res.headers.get("ratelimit-policy")).toBe('"read";q=600;w=60');
    expect(res.headers.get("ratelimit")).toMatch(/^"read";r=\d+;t=\d+$/);
  });
});
