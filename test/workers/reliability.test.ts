import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, inject, it } from "vitest";
import worker from "../../src/platform/workers/main";
import type { Fault } from "../../tools/libsql-server/faults";

/**
 * The Workers home when its libSQL server misbehaves (issue #24): the worker reaches the server
 * through a fault proxy (test/workers/reliability-global-setup.ts) that hangs, answers 5xx,
 * resets or refuses connections. Every request that needs the database answers a 503
 * UNAVAILABLE problem with Retry-After within DATABASE_TIMEOUT_MS (+ slack for a loaded machine),
 * /ready turns 503, /health stays 200, and the same isolate's app serves again once the fault
 * ends (no restart, no rebuilt client).
 */
const timeoutMs = 1000;
// One bindings object for the whole file: the worker keeps one app (one libSQL client) for it.
const bindings = {
  ...env,
  DATABASE_URL: inject("faultyLibsqlUrl"),
  DATABASE_TIMEOUT_MS: String(timeoutMs),
} as Env;

async function call(path: string, init?: RequestInit) {
  const ctx = createExecutionContext();
  const started = performance.now();
  const res = await worker.fetch(
    new Request(`https://nearbase.test${path}`, init) as Parameters<typeof worker.fetch>[0],
    bindings,
    ctx,
  );
  const body = await res.text();
  await waitOnExecutionContext(ctx);
  return { res, body, ms: performance.now() - started };
}

async function fault(f: Fault) {
  const res = await fetch(`${inject("faultControlUrl")}/fault`, {
    method: "POST",
    body: JSON.stringify(f),
  });
  expect(res.status).toBe(200);
}

let n = 0;
/** A public list the edge cache has never seen (each query is its own cache key). */
const freshList = () =>
  `/api/collections/posts/records?filter=${encodeURIComponent(`title ~ 'rel${Date.now()}x${n++}'`)}`;

function expectUnavailable(r: { res: Response; body: string }) {
  expect(r.res.status, r.body).toBe(503);
  expect(r.res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(r.res.headers.get("retry-after")).toBe("5");
  const problem = JSON.parse(r.body) as { code: string; detail: string };
  expect(problem.code).toBe("UNAVAILABLE");
  // The cause is logged, never sent: no address, port or driver text.
  expect(r.body).not.toMatch(/127\.0\.0\.1|HTTP status|fetch|INJECTED|Timeout/i);
}

describe("database outage in the Workers home (libSQL over HTTP)", () => {
  afterEach(() => fault({ mode: "none" }));

  it("serves while the server answers", async () => {
    expect((await call("/ready")).res.status).toBe(200);
    expect((await call(freshList())).res.status).toBe(200);
  });

  it("a hanging server: reads, writes and /ready answer 503 within the timeout; /health 200", async () => {
    await call("/ready"); // the app exists before the fault
    await fault({ mode: "hang" });
    const [read, write, ready] = await Promise.all([
      call(freshList()),
      call("/api/auth/signup", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          email: `hang${Date.now()}@example.com`,
          password: "a-long-passphrase-1",
        }),
      }),
      call("/ready"),
    ]);
    for (const r of [read, write]) {
      expectUnavailable(r);
      // Bounded: the timeout, not forever (slack for a loaded 2-core machine and PBKDF2).
      expect(r.ms).toBeGreaterThanOrEqual(timeoutMs * 0.9);
      expect(r.ms).toBeLessThan(timeoutMs + 6000);
    }
    expect(ready.res.status).toBe(503);
    expect(ready.res.headers.get("retry-after")).toBe("5");
    expect(ready.ms).toBeLessThan(timeoutMs + 6000);
    const health = await call("/health");
    expect(health.res.status).toBe(200);
    expect(health.ms).toBeLessThan(1000);
  });

  for (const f of [
    { mode: "error", status: 503 },
    { mode: "error", status: 500 },
    { mode: "reset" },
    { mode: "refuse" },
  ] as Fault[]) {
    it(`${JSON.stringify(f)}: 503 problem at once, /ready 503, /health 200, then recovery`, async () => {
      await call("/ready");
      await fault(f);
      const read = await call(freshList());
      expectUnavailable(read);
      expect(read.ms).toBeLessThan(timeoutMs + 3000);
      expect((await call("/ready")).res.status).toBe(503);
      expect((await call("/health")).res.status).toBe(200);
      await fault({ mode: "none" });
      // Recovers by itself: the same app and client, the next request.
      expect((await call(freshList())).res.status).toBe(200);
      expect((await call("/ready")).res.status).toBe(200);
    });
  }

  it("a cached public answer is served while the database is gone, labelled STALE-IF-ERROR", async () => {
    const cached = `/api/collections/posts/records?filter=${encodeURIComponent(`title ~ 'sie${Date.now()}'`)}`;
    const first = await call(cached);
    expect(first.res.status).toBe(200);
    expect((await call(cached)).res.headers.get("x-cache")).toBe("HIT");
    await fault({ mode: "refuse" });
    // Past the version memo (CACHE_VERSION_MEMO_MS, 1 s): the isolate must ask the database.
    await new Promise((r) => setTimeout(r, 1200));
    const stale = await call(cached);
    expect(stale.res.status).toBe(200);
    expect(stale.res.headers.get("x-cache")).toBe("STALE-IF-ERROR");
    expect(Number(stale.res.headers.get("age"))).toBeGreaterThanOrEqual(1);
    expect(stale.body).toBe(first.body);
    // What was never cached, and anything private, is still a 503.
    expectUnavailable(await call(freshList()));
    await fault({ mode: "none" });
    const back = await call(cached);
    expect(back.res.status).toBe(200);
    expect(back.res.headers.get("x-cache")).not.toBe("STALE-IF-ERROR");
  });

  it("recovers after a hang: the next requests are served", async () => {
    await fault({ mode: "hang" });
    expectUnavailable(await call(freshList()));
    await fault({ mode: "none" });
    expect((await call(freshList())).res.status).toBe(200);
    expect((await call("/ready")).res.status).toBe(200);
  });
});
