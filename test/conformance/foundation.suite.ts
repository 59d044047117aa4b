import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Home, type MakeHome, readProblem } from "./home";

/** Health, problem+json errors, body limits, request ids and baseline headers, in every home. */
export function defineFoundationSuite(makeHome: MakeHome) {
  let t: Home;
  beforeAll(async () => {
    t = await makeHome({
      env: { CORS_ORIGINS: "https://app.example.com", BODY_LIMIT_BYTES: "2048" },
    });
  });
  afterAll(() => t.close());

  describe("health and readiness", () => {
    it("GET /health answers without touching the database", async () => {
      const res = await t.request("/health");
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: "ok", home: t.name });
      expect(res.headers.get("cache-control")).toBe("no-store");
    });

    it("GET /ready is 200 on a migrated database and names the migration", async () => {
      const res = await t.request("/ready");
      expect(res.status).toBe(200);
      const body = (await res.json()) as { status: string; home: string; migration: string };
      expect(body).toMatchObject({ status: "ready", home: t.name });
      expect(body.migration).toMatch(/^\d{4}_/);
      expect(res.headers.get("server-timing")).toMatch(/db;dur=/);
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

    it("a body over the limit is a 413 problem, whether or not Content-Length is declared", async () => {
      const declared = await t.request("/health", { method: "POST", body: "x".repeat(4096) });
      expect(declared.status).toBe(413);
      expect((await readProblem(declared)).code).toBe("PAYLOAD_TOO_LARGE");

      const chunks = new ReadableStream({
        start(controller) {
          for (let i = 0; i < 8; i++)
            controller.enqueue(new TextEncoder().encode("y".repeat(1024)));
          controller.close();
        },
      });
      const streamed = await t.request("/health", {
        method: "POST",
        body: chunks,
        duplex: "half",
      } as RequestInit);
      expect(streamed.status).toBe(413);
      expect((await readProblem(streamed)).code).toBe("PAYLOAD_TOO_LARGE");
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
}
