import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { loadConfig } from "../../src/config";
import { ApiError } from "../../src/core/kernel/errors";
import { memorySink } from "../../src/core/kernel/log";
import { createNodePlatform } from "../../src/platform/node/platform";
import { createTestApp, readProblem, type TestApp } from "../harness";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({
    env: { CORS_ORIGINS: "https://app.example.com", BODY_LIMIT_BYTES: "2048" },
  });
  t.app.get("/test/boom", () => {
    throw new Error('SQLITE_ERROR: near "DROP": secret-table-name at /srv/app.ts:12');
  });
  t.app.get("/test/teapot", () => {
    throw new ApiError("CONFLICT", "That name is taken.", {
      errors: [{ path: "/name", message: "taken" }],
    });
  });
});
afterAll(() => t.close());

describe("health and readiness", () => {
  it("GET /health answers without touching the database", async () => {
    const res = await t.request("/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", home: "node" });
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("GET /ready is 200 on a migrated database and names the migration", async () => {
    const res = await t.request("/ready");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; migration: string };
    expect(body.status).toBe("ready");
    expect(body.migration).toMatch(/^\d{4}_/);
    expect(res.headers.get("server-timing")).toMatch(/db;dur=/);
  });

  it("GET /ready is 503 with MIGRATIONS_PENDING on a database nobody migrated", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nearbase-unmigrated-"));
    const client = createClient({ url: `file:${join(dir, "raw.db")}` });
    const config = loadConfig({}, "node");
    const platform = createNodePlatform({ client, log: memorySink(), env: {} });
    const app = createApp({ platform, config, collections: [] });
    const res = await app.request("/ready");
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    const problem = await readProblem(res);
    expect(problem.code).toBe("UNAVAILABLE");
    expect(problem.detail).toMatch(/db:migrate/);
    client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("GET /ready is 503 when the database cannot be reached", async () => {
    const client = createClient({ url: "http://127.0.0.1:9" });
    const platform = createNodePlatform({ client, log: memorySink(), env: {} });
    const app = createApp({ platform, config: loadConfig({}, "node"), collections: [] });
    const res = await app.request("/ready");
    expect(res.status).toBe(503);
    expect((await readProblem(res)).detail).toBe("The database did not answer.");
  });
});

describe("errors are problem+json", () => {
  it("an unknown route is a 404 problem with the request id", async () => {
    const res = await t.request("/nope", { headers: { "x-request-id": "req-abc-123" } });
    expect(res.status).toBe(404);
    const problem = await readProblem(res);
    expect(problem).toMatchObject({
      status: 404,
      code: "NOT_FOUND",
      title: "Not found",
      requestId: "req-abc-123",
    });
    expect(problem.type).toBe("https://nearbase.dev/problems/not-found");
  });

  it("an ApiError keeps its code, status and field errors", async () => {
    const res = await t.request("/test/teapot");
    expect(res.status).toBe(409);
    const problem = await readProblem(res);
    expect(problem.code).toBe("CONFLICT");
    expect(problem.detail).toBe("That name is taken.");
    expect(problem.errors).toEqual([{ path: "/name", message: "taken" }]);
  });

  it("an unexpected error is a 500 problem with no stack or SQL, and the cause is logged", async () => {
    const res = await t.request("/test/boom");
    expect(res.status).toBe(500);
    const text = await res.clone().text();
    expect(text).not.toMatch(/SQLITE|secret-table-name|app\.ts|at /);
    const problem = await readProblem(res);
    expect(problem.code).toBe("INTERNAL");
    const logged = t.log.events.find(
      (e) => e.msg === "unhandled error" && e.requestId === problem.requestId,
    );
    expect(JSON.stringify(logged)).toMatch(/secret-table-name/);
  });

  it("a body over the limit is a 413 problem, whether or not Content-Length is declared", async () => {
    const declared = await t.request("/health", { method: "POST", body: "x".repeat(4096) });
    expect(declared.status).toBe(413);
    expect((await readProblem(declared)).code).toBe("PAYLOAD_TOO_LARGE");

    const chunks = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 8; i++) controller.enqueue(new TextEncoder().encode("y".repeat(1024)));
        controller.close();
      },
    });
    const streamed = await t.app.request("/health", {
      method: "POST",
      body: chunks,
      duplex: "half",
    } as RequestInit);
    expect(streamed.status).toBe(413);
  });
});

describe("request ids", () => {
  it("echoes a sane inbound x-request-id", async () => {
    const res = await t.request("/health", { headers: { "x-request-id": "abc-DEF_123" } });
    expect(res.headers.get("x-request-id")).toBe("abc-DEF_123");
  });

  it("replaces an inbound id with unsafe characters or excessive length", async () => {
    for (const bad of ["a b<script>", "x".repeat(500), "line\u2028break"]) {
      const res = await t.request("/health", { headers: { "x-request-id": encodeURI(bad) } });
      const id = res.headers.get("x-request-id");
      expect(id).not.toBe(encodeURI(bad));
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("generates distinct ids", async () => {
    const ids = new Set<string | null>();
    for (let i = 0; i < 5; i++) ids.add((await t.request("/health")).headers.get("x-request-id"));
    expect(ids.size).toBe(5);
  });
});

describe("baseline headers", () => {
  it("sets secure headers and Server-Timing", async () => {
    const res = await t.request("/health");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("SAMEORIGIN");
    expect(res.headers.get("server-timing")).toMatch(/total;dur=/);
  });

  it("allows only the configured CORS origins", async () => {
    const ok = await t.request("/health", { headers: { origin: "https://app.example.com" } });
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    const other = await t.request("/health", { headers: { origin: "https://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const preflight = await t.request("/health", {
      method: "OPTIONS",
      headers: { origin: "https://app.example.com", "access-control-request-method": "POST" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-methods")).toMatch(/POST/);
  });
});

describe("request log", () => {
  it("writes one line per request with route pattern, status, duration and request id", async () => {
    const res = await t.request("/ready?token=super-secret-value", {
      headers: { authorization: "Bearer hunter2-token" },
    });
    const id = res.headers.get("x-request-id");
    const lines = t.log.events.filter((e) => e.msg === "request" && e.requestId === id);
    expect(lines).toHaveLength(1);
    // The made-up bearer token is refused (401), and neither it nor the query string is logged.
    expect(lines[0]).toMatchObject({ level: "info", method: "GET", status: 401 });
    expect(typeof lines[0]?.durationMs).toBe("number");
    const all = JSON.stringify(t.log.events);
    expect(all).not.toMatch(/super-secret-value|hunter2-token/);
  });
});
