import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

// The real worker (src/platform/workers/main.ts) in workerd, reaching libSQL over HTTP as it would reach Turso.
const call = (path: string, init?: RequestInit) =>
  exports.default.fetch(new Request(`http://nearbase.test${path}`, init));

describe("Workers home", () => {
  it("GET /health answers from workerd", async () => {
    const res = await call("/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", home: "workers" });
  });

  it("GET /ready reaches the migrated database over HTTP", async () => {
    const res = await call("/ready");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; home: string; migration: string };
    expect(body).toMatchObject({ status: "ready", home: "workers" });
    expect(body.migration).toMatch(/^\d{4}_/);
    expect(res.headers.get("server-timing")).toMatch(/db;dur=/);
  });

  it("answers unknown routes with a 404 problem carrying the request id", async () => {
    const res = await call("/nope", { headers: { "x-request-id": "wk-123" } });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({ code: "NOT_FOUND", status: 404, requestId: "wk-123" });
  });

  it("rejects an oversized body with a 413 problem", async () => {
    const res = await call("/health", { method: "POST", body: "x".repeat(2 * 1024 * 1024) });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
  });
});
