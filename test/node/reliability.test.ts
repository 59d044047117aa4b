import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadTestEnv, type NodeHome, signUp, startNodeHome } from "../../bench/soak/lib";
import { migrateDatabase } from "../../src/platform/node/migrate";
import { type FaultProxy, startFaultProxy } from "../../tools/libsql-server/faults";
import { type LibsqlServer, startLibsqlServer } from "../../tools/libsql-server/server";
import { testKeys } from "../harness";

/**
 * Reliability of the Node home under faults and load (issue #24), each against a real process:
 * a libSQL server that hangs, errors, resets or is gone (DATABASE_URL over HTTP through a fault
 * proxy), and a flood past the process's in-flight limit.
 */

const dir = mkdtempSync(join(tmpdir(), "nearbase-reliability-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function timed(url: string, init?: RequestInit) {
  const started = performance.now();
  const res = await fetch(url, init);
  const body = await res.text();
  return { res, body, ms: performance.now() - started };
}

function expectUnavailable(r: { res: Response; body: string }, retryAfter = "5") {
  expect(r.res.status, r.body).toBe(503);
  expect(r.res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(r.res.headers.get("retry-after")).toBe(retryAfter);
  expect(JSON.parse(r.body)).toMatchObject({ code: "UNAVAILABLE", status: 503 });
  expect(r.body).not.toMatch(/127\.0\.0\.1|HTTP status|fetch failed|INJECTED|Timeout/i);
}

describe("Node home on a libSQL server that fails (DATABASE_URL over HTTP)", () => {
  const timeoutMs = 1000;
  let server: LibsqlServer;
  let proxy: FaultProxy;
  let home: NodeHome;
  let n = 0;
  const list = () =>
    `${home.base}/api/collections/posts/records?filter=${encodeURIComponent(`title ~ 'n${n++}'`)}`;

  beforeAll(async () => {
    server = await startLibsqlServer({ path: join(dir, "over-http.db") });
    const client = createClient({ url: server.url });
    await migrateDatabase(client);
    client.close();
    proxy = await startFaultProxy({ target: server.url });
    home = await startNodeHome({
      ...loadTestEnv,
      DATABASE_URL: proxy.url,
      DATABASE_TIMEOUT_MS: String(timeoutMs),
      JWT_PRIVATE_KEYS: await testKeys(),
      DATA_KEYS_FILE: join(dir, "keys-http.json"),
    });
  }, 180_000);
  afterAll(async () => {
    await home?.stop("SIGKILL");
    await proxy?.close();
    await server?.close();
  });

  it("a hanging server: a bounded 503 for reads and writes, /ready 503, /health 200, then recovery", async () => {
    const account = await signUp(home.base, `hang-${Date.now()}@example.com`);
    await proxy.set({ mode: "hang" });
    const [read, write, ready] = await Promise.all([
      timed(list()),
      timed(`${home.base}/api/collections/posts/records`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${account.accessToken}`,
        },
        body: JSON.stringify({ title: "during a hang" }),
      }),
      timed(`${home.base}/ready`),
    ]);
    for (const r of [read, write]) {
      expectUnavailable(r);
      expect(r.ms).toBeGreaterThanOrEqual(timeoutMs * 0.9);
      expect(r.ms).toBeLessThan(timeoutMs + 6000);
    }
    expect(ready.res.status).toBe(503);
    expect(ready.ms).toBeLessThan(timeoutMs + 6000);
    const health = await timed(`${home.base}/health`);
    expect(health.res.status).toBe(200);
    expect(health.ms).toBeLessThan(1000);
    await proxy.set({ mode: "none" });
    expect((await timed(list())).res.status).toBe(200);
    expect((await timed(`${home.base}/ready`)).res.status).toBe(200);
  });

  for (const fault of [
    { mode: "error", status: 503 },
    { mode: "reset" },
    { mode: "refuse" },
  ] as const) {
    it(`${JSON.stringify(fault)}: 503 UNAVAILABLE at once, /health 200, recovery without a restart`, async () => {
      await proxy.set(fault);
      const read = await timed(list());
      expectUnavailable(read);
      expect(read.ms).toBeLessThan(timeoutMs + 3000);
      expect((await timed(`${home.base}/ready`)).res.status).toBe(503);
      expect((await timed(`${home.base}/health`)).res.status).toBe(200);
      await proxy.set({ mode: "none" });
      expect((await timed(list())).res.status).toBe(200);
      expect((await timed(`${home.base}/ready`)).res.status).toBe(200);
    });
  }
});

describe("overload: the Node home sheds load past MAX_IN_FLIGHT_REQUESTS", () => {
  let home: NodeHome;
  beforeAll(async () => {
    home = await startNodeHome({
      ...loadTestEnv,
      DATABASE_URL: `file:${join(dir, "overload.db")}`,
      MAX_IN_FLIGHT_REQUESTS: "8",
      JWT_PRIVATE_KEYS: await testKeys(),
      DATA_KEYS_FILE: join(dir, "keys-overload.json"),
    });
  }, 180_000);
  afterAll(() => home?.stop("SIGKILL"));

  it("a flood gets 200s and fast 503 + Retry-After problems, nothing else; /health answers throughout", async () => {
    const account = await signUp(home.base, `flood-${Date.now()}@example.com`);
    const login = () =>
      fetch(`${home.base}/api/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: account.email, password: account.password }),
      });
    const read = () => fetch(`${home.base}/api/collections/posts/records?limit=5`);
    const started = performance.now();
    const flood = Array.from({ length: 300 }, (_, i) =>
      (i % 2 === 0 ? login() : read()).then(async (res) => ({
        status: res.status,
        retryAfter: res.headers.get("retry-after"),
        type: res.headers.get("content-type"),
        body: await res.text(),
      })),
    );
    // Liveness during the flood: exempt from shedding.
    const health = await fetch(`${home.base}/health`);
    expect(health.status).toBe(200);
    const results = await Promise.all(flood);
    const elapsed = performance.now() - started;
    const byStatus = new Map<number, number>();
    for (const r of results) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
    expect([...byStatus.keys()].sort()).toEqual([200, 503]);
    expect(byStatus.get(200)).toBeGreaterThanOrEqual(8);
    expect(byStatus.get(503)).toBeGreaterThan(0);
    for (const r of results.filter((x) => x.status === 503)) {
      expect(r.retryAfter).toBe("1");
      expect(r.type).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(r.body)).toMatchObject({ code: "UNAVAILABLE" });
    }
    // Bounded: the flood is answered, not queued without end (generous for a loaded machine).
    expect(elapsed).toBeLessThan(60_000);
    // And the process is fine afterwards.
    expect((await fetch(`${home.base}/ready`)).status).toBe(200);
    expect((await login()).status).toBe(200);
  });
});
