import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withCacheFastPath } from "../../src/platform/node/cache-fast-path";
import { createTestApp, type TestApp } from "../harness";

/**
 * The Node home's cache fast path on real node:http servers over one real app and libSQL file:
 * "app" serves everything through @hono/node-server and the app; "fast" puts the fast path in
 * front of the same adapter (as main.ts does) and counts the requests that reached the adapter.
 */
const posts = "/api/collections/posts/records";

interface Answer {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

async function servers(t: TestApp) {
  const adapter = getRequestListener(t.app.fetch);
  let reachedApp = 0;
  const withFastPath = createServer(
    withCacheFastPath((req, res) => {
      reachedApp++;
      void adapter(req, res);
    }, t.app.sharedCacheHit),
  );
  const plain = createServer((req, res) => void adapter(req, res));
  const listen = (s: typeof plain) =>
    new Promise<string>((done) =>
      s.listen(0, "127.0.0.1", () => done(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)),
    );
  const fastUrl = await listen(withFastPath);
  const appUrl = await listen(plain);
  const get = async (base: string, path: string, init: RequestInit = {}): Promise<Answer> => {
    const res = await fetch(base + path, init);
    return {
      status: res.status,
      headers: res.headers,
      body: new Uint8Array(await res.arrayBuffer()),
    };
  };
  return {
    fastUrl,
    app: (path: string, init?: RequestInit) => get(appUrl, path, init),
    fast: (path: string, init?: RequestInit) => get(fastUrl, path, init),
    /** Requests that went past the fast path to the adapter and the app. */
    reachedApp: () => reachedApp,
    close: () => {
      withFastPath.closeAllConnections();
      plain.closeAllConnections();
      withFastPath.close();
      plain.close();
    },
  };
}
type Servers = Awaited<ReturnType<typeof servers>>;

/** Fields that differ between any two answers (ids, timings, the date). */
const perRequest = new Set(["x-request-id", "x-trace-id", "server-timing", "date", "age"]);
const stable = (h: Headers) => [...h].filter(([name]) => !perRequest.has(name));

/** A cached list: filled through the app, then answered by the fast path. */
async function filled(s: Servers, t: TestApp, path: string) {
  await s.app(path);
  await t.platform.settle();
  // The fast path learns the app's answer fields on first use (a probe), then answers.
  for (let i = 0; i < 100; i++) {
    const before = s.reachedApp();
    await s.fast(path);
    if (s.reachedApp() === before) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`the fast path never answered ${path}`);
}

describe("cache fast path (Node home)", () => {
  let t: TestApp;
  let s: Servers;
  beforeAll(async () => {
    t = await createTestApp({
      env: { RATE_LIMIT_READ: "off", CORS_ORIGINS: "https://app.example" },
    });
    s = await servers(t);
    const author = await t.signIn();
    for (const title of ["one", "two", "three"]) {
      const res = await t.request(posts, {
        method: "POST",
        headers: author.headers,
        json: { title, status: "published" },
      });
      expect(res.status).toBe(201);
    }
  });
  afterAll(async () => {
    s.close();
    await t.close();
  });

  it("answers a hit without the app: the same bytes and fields as the app's hit", async () => {
    const path = `${posts}?limit=2&sort=-created`;
    await filled(s, t, path);
    const before = s.reachedApp();
    const viaApp = await s.app(path);
    const viaFast = await s.fast(path);
    expect(s.reachedApp()).toBe(before);
    expect(viaApp.headers.get("x-cache")).toBe("HIT");
    expect(viaFast.status).toBe(200);
    expect(Buffer.from(viaFast.body).equals(Buffer.from(viaApp.body))).toBe(true);
    expect(stable(viaFast.headers)).toEqual(stable(viaApp.headers));
    for (const name of ["x-request-id", "x-trace-id", "server-timing"])
      expect(viaFast.headers.get(name)).not.toBeNull();
    expect(viaFast.headers.get("server-timing")).toMatch(/^cache;dur=[\d.]+;desc="hit",total;/);
    // The query's order does not matter, as for the app's own key.
    const reordered = await s.fast(`${posts}?sort=-created&limit=2`);
    expect(Buffer.from(reordered.body).equals(Buffer.from(viaApp.body))).toBe(true);
    expect(s.reachedApp()).toBe(before);
  });

  it("keeps the caller's request id and logs the hit as the app does", async () => {
    const path = `${posts}?limit=1`;
    await filled(s, t, path);
    const before = s.reachedApp();
    t.log.events.length = 0;
    await s.app(path, { headers: { "x-request-id": "via-app-1" } });
    const viaFast = await s.fast(path, { headers: { "x-request-id": "via-fast-1" } });
    expect(s.reachedApp()).toBe(before);
    expect(viaFast.headers.get("x-request-id")).toBe("via-fast-1");
    const lines = t.log.events.filter((e) => e.msg === "request");
    const fromApp = lines.find((e) => e.requestId === "via-app-1");
    const fromFast = lines.find((e) => e.requestId === "via-fast-1");
    // Everything but what differs between any two requests (ids, duration).
    const shape = (e: Record<string, unknown> | undefined) =>
      Object.fromEntries(
        Object.entries(e ?? {}).filter(
          ([k]) => !["requestId", "traceId", "spanId", "durationMs"].includes(k),
        ),
      );
    expect(fromFast).toBeDefined();
    expect(shape(fromFast)).toEqual(shape(fromApp));
    expect(fromFast?.cache).toBe("HIT");
    expect(fromFast?.route).toBe("/api/collections/:name/records");
  });

  it("answers a record by id too, and logs it under the view route", async () => {
    const list = await s.app(`${posts}?limit=1`);
    const id = (JSON.parse(Buffer.from(list.body).toString()) as { items: { id: string }[] })
      .items[0]!.id;
    const path = `${posts}/${id}`;
    await filled(s, t, path);
    const before = s.reachedApp();
    t.log.events.length = 0;
    const viaApp = await s.app(path);
    const viaFast = await s.fast(path, { headers: { "x-request-id": "view-fast-1" } });
    expect(s.reachedApp()).toBe(before);
    expect(viaFast.status).toBe(200);
    expect(Buffer.from(viaFast.body).equals(Buffer.from(viaApp.body))).toBe(true);
    expect(stable(viaFast.headers)).toEqual(stable(viaApp.headers));
    const line = t.log.events.find((e) => e.requestId === "view-fast-1");
    expect(line?.route).toBe("/api/collections/:name/records/:id");
  });

  it("answers 304 to If-None-Match with the app's fields", async () => {
    const path = `${posts}?limit=3`;
    await filled(s, t, path);
    const etag = (await s.fast(path)).headers.get("etag")!;
    const before = s.reachedApp();
    const viaFast = await s.fast(path, { headers: { "if-none-match": etag } });
    const viaApp = await s.app(path, { headers: { "if-none-match": etag } });
    expect(s.reachedApp()).toBe(before);
    expect(viaFast.status).toBe(304);
    expect(viaApp.status).toBe(304);
    expect(viaFast.body.byteLength).toBe(0);
    expect(stable(viaFast.headers)).toEqual(stable(viaApp.headers));
  });

  it("lets a caller that just wrote read its write", async () => {
    const path = `${posts}?limit=50`;
    await filled(s, t, path);
    const author = await t.signIn();
    const wrote = await fetch(`${s.fastUrl}${posts}`, {
      method: "POST",
      headers: { ...author.headers, "content-type": "application/json" },
      body: JSON.stringify({ title: "just written", status: "published" }),
    });
    expect(wrote.status).toBe(201);
    const token = wrote.headers.get("nearbase-consistency")!;
    const cookie = wrote.headers.get("set-cookie")!.split(";")[0]!;
    const callers: Record<string, string>[] = [{ "nearbase-consistency": token }, { cookie }, {}];
    for (const headers of callers) {
      const read = await s.fast(path, { headers });
      const titles = (
        JSON.parse(Buffer.from(read.body).toString()) as { items: { title: string }[] }
      ).items.map((p) => p.title);
      expect(titles).toContain("just written");
    }
  });

  it("never answers a caller with credentials", async () => {
    const path = `${posts}?limit=4`;
    await filled(s, t, path);
    const user = await t.signIn();
    const before = s.reachedApp();
    const viaFast = await s.fast(path, { headers: user.headers });
    const viaApp = await s.app(path, { headers: user.headers });
    expect(s.reachedApp()).toBe(before + 1);
    expect(viaFast.headers.get("cache-control")).toBe("private, no-store");
    expect(viaFast.headers.get("vary")).toContain("Authorization");
    expect(stable(viaFast.headers)).toEqual(stable(viaApp.headers));
    const key = await s.fast(path, { headers: { "x-api-key": "nbk_not_a_key" } });
    expect(key.status).toBe(401);
  });

  it("leaves HEAD, a cross-origin request and a miss to the app", async () => {
    const path = `${posts}?limit=5`;
    await filled(s, t, path);
    let before = s.reachedApp();
    const head = await s.fast(path, { method: "HEAD" });
    const appHead = await s.app(path, { method: "HEAD" });
    expect(s.reachedApp()).toBe(before + 1);
    expect(head.status).toBe(200);
    expect(head.body.byteLength).toBe(0);
    expect(stable(head.headers)).toEqual(stable(appHead.headers));

    before = s.reachedApp();
    const cross = await s.fast(path, { headers: { origin: "https://app.example" } });
    expect(s.reachedApp()).toBe(before + 1);
    expect(cross.headers.get("access-control-allow-origin")).toBe("https://app.example");

    before = s.reachedApp();
    const miss = await s.fast(`${posts}?limit=6`);
    expect(s.reachedApp()).toBe(before + 1);
    expect(miss.headers.get("x-cache")).toBe("MISS");
  });
});

describe("cache fast path with a read rate limit", () => {
  const limit = 6;
  let t: TestApp;
  let s: Servers;
  beforeAll(async () => {
    t = await createTestApp({ env: { RATE_LIMIT_READ: `${limit}/60s` } });
    s = await servers(t);
  });
  afterAll(async () => {
    s.close();
    await t.close();
  });

  it("spends the caller's read budget on a hit and leaves the refusal to the app", async () => {
    const path = `${posts}?limit=2`;
    const answers: Answer[] = [];
    const fastAnswered: Answer[] = [];
    for (let i = 0; i < limit + 10; i++) {
      const before = s.reachedApp();
      const res = await s.fast(path);
      answers.push(res);
      if (s.reachedApp() === before) fastAnswered.push(res);
      await t.platform.settle();
      if (res.status === 429) break;
    }
    const statuses = answers.map((a) => a.status);
    // Every request spent one unit of the one budget, whoever answered it.
    expect(statuses).toEqual([...Array(limit).fill(200), 429]);
    expect(fastAnswered.length).toBeGreaterThan(0);
    for (const a of fastAnswered) {
      expect(a.headers.get("x-cache")).toBe("HIT");
      expect(a.headers.get("ratelimit-policy")).toBe(`"read";q=${limit};w=60`);
      expect(a.headers.get("ratelimit")).toMatch(/^"read";r=\d+;t=\d+$/);
    }
    const remaining = answers
      .slice(0, limit)
      .map((a) => Number(/r=(\d+)/.exec(a.headers.get("ratelimit") ?? "")?.[1]));
    expect(remaining).toEqual([5, 4, 3, 2, 1, 0]);
    const refused = answers.at(-1)!;
    expect(refused.headers.get("retry-after")).not.toBeNull();
    expect(JSON.parse(Buffer.from(refused.body).toString()).code).toBe("RATE_LIMITED");
  });
});
