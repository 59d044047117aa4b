import type { CachedEntry, CachePort } from "../../core/kernel/ports";

const storedAtHeader = "x-nearbase-stored-at";
const originalCacheControl = "x-nearbase-cache-control";

/**
 * The Workers home's shared cache: `caches.default`, per data centre. The Cache API honours
 * `Cache-Control: s-maxage` for expiry, drops responses with Set-Cookie and does not do
 * stale-while-revalidate itself, so we store our own timestamp and judge freshness in code.
 * Note: on *.workers.dev hosts the Cache API accepts writes but never returns hits.
 */
export function edgeCache(cache: Cache): CachePort {
  return {
    implemented: true,
    async match(key) {
      const hit = await cache.match(key);
      if (hit === undefined) return undefined;
      const storedAt = Number(hit.headers.get(storedAtHeader));
      const headers = new Headers(hit.headers);
      headers.delete(storedAtHeader);
      headers.delete("cache-control");
      const cacheControl = headers.get(originalCacheControl);
      if (cacheControl !== null) headers.set("cache-control", cacheControl);
      headers.delete(originalCacheControl);
      const entry: CachedEntry = {
        response: new Response(hit.body, { status: hit.status, headers }),
        storedAt: Number.isFinite(storedAt) ? storedAt : 0,
      };
      return entry;
    },
    async put(key, response, ttlSeconds) {
      if (ttlSeconds <= 0) return;
      const headers = new Headers(response.headers);
      headers.set(storedAtHeader, String(Date.now()));
      const cacheControl = response.headers.get("cache-control");
      if (cacheControl !== null) headers.set(originalCacheControl, cacheControl);
      headers.set("cache-control", `public, s-maxage=${Math.ceil(ttlSeconds)}`);
      headers.delete("set-cookie");
      await cache.put(key, new Response(response.body, { status: response.status, headers }));
    },
    async delete(key) {
      await cache.delete(key);
    },
  };
}
