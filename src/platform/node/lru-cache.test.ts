import { describe, expect, it } from "vitest";
import { LruCache } from "./lru-cache";

const body = (n: number) =>
  new Response("x".repeat(n), { headers: { "content-type": "application/json", etag: '"v1"' } });

describe("Node shared cache (byte-bounded LRU)", () => {
  it("returns what was stored, with status, headers and the time it was stored", async () => {
    let now = 1_000;
    const cache = new LruCache(1024 * 1024, () => now);
    await cache.put(
      "https://h/a",
      new Response('{"a":1}', { status: 200, headers: { etag: '"e1"' } }),
      60,
    );
    now = 5_000;
    const hit = await cache.match("https://h/a");
    expect(hit?.storedAt).toBe(1_000);
    expect(hit?.response.headers.get("etag")).toBe('"e1"');
    expect(await hit?.response.text()).toBe('{"a":1}');
    // A hit can be read again: the stored body is not consumed.
    expect(await (await cache.match("https://h/a"))?.response.text()).toBe('{"a":1}');
  });

  it("never holds more bytes than its bound, however many keys arrive", async () => {
    const maxBytes = 256 * 1024;
    const cache = new LruCache(maxBytes);
    for (let i = 0; i < 5_000; i++) {
      await cache.put(`https://h/list?page=${i}`, body(200 + (i % 7) * 300), 60);
      expect(cache.bytes).toBeLessThanOrEqual(maxBytes);
    }
    expect(cache.size).toBeGreaterThan(10);
    expect(cache.size).toBeLessThan(5_000);
    // The newest survive, the oldest are gone.
    expect(await cache.match("https://h/list?page=4999")).toBeDefined();
    expect(await cache.match("https://h/list?page=0")).toBeUndefined();
  });

  it("evicts the least recently used entry, not the oldest stored", async () => {
    // Room for four entries of ~2.3 KB each.
    const cache = new LruCache(10_000);
    for (const n of [1, 2, 3, 4]) await cache.put(`https://h/${n}`, body(2000), 60);
    await cache.match("https://h/1");
    await cache.put("https://h/5", body(2000), 60);
    expect(await cache.match("https://h/1")).toBeDefined();
    expect(await cache.match("https://h/2")).toBeUndefined();
    expect(await cache.match("https://h/3")).toBeDefined();
  });

  it("expires entries after their ttl and forgets deleted ones", async () => {
    let now = 0;
    const cache = new LruCache(1024 * 1024, () => now);
    await cache.put("https://h/a", body(10), 2);
    await cache.put("https://h/b", body(10), 60);
    now = 2_001;
    expect(await cache.match("https://h/a")).toBeUndefined();
    await cache.delete("https://h/b");
    expect(await cache.match("https://h/b")).toBeUndefined();
    expect(cache.bytes).toBe(0);
  });

  it("does not let one huge response flush everything else", async () => {
    const cache = new LruCache(64 * 1024);
    await cache.put("https://h/small", body(100), 60);
    await cache.put("https://h/huge", body(60 * 1024), 60);
    expect(await cache.match("https://h/huge")).toBeUndefined();
    expect(await cache.match("https://h/small")).toBeDefined();
  });
});
