import { describe, expect, it } from "vitest";
import { createContract } from "../conformance/contract";
import { appContract } from "../conformance/home";

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
const problem = (status: number, code: string, headers: Record<string, string> = {}) =>
  new Response(
    JSON.stringify({ type: "https://nearbase.dev/problems/x", title: "x", status, code }),
    { status, headers: { "content-type": "application/problem+json", ...headers } },
  );

const post = {
  id: "pst_abc",
  created: "2026-01-01T00:00:00.000Z",
  updated: "2026-01-01T00:00:00.000Z",
  title: "t",
  body: "",
  status: "published",
  tags: ["a"],
  author: "usr_1",
};

// The harness's checker must be able to fail: each way a response can break the document.
describe("contract checker", () => {
  const contract = appContract();
  const get = (path: string) => ({ method: "GET", path });

  it("accepts a documented answer, and counts it", async () => {
    const before = contract.validated;
    await contract.check(get("/api/collections/posts/records/pst_abc"), json(post));
    await contract.check(
      get("/api/collections/posts/records/pst_abc?fields=title"),
      json({ title: "t" }),
    );
    expect(contract.validated).toBe(before + 2);
  });

  it("refuses a body that does not match its schema", async () => {
    await expect(
      contract.check(get("/api/collections/posts/records/pst_abc"), json({ ...post, extra: 1 })),
    ).rejects.toThrow(/additional/);
    await expect(
      contract.check(get("/api/collections/posts/records/pst_abc"), json({ ...post, tags: "a" })),
    ).rejects.toThrow(/body\/tags/);
  });

  it("refuses an undocumented status, media type or contract header", async () => {
    await expect(
      contract.check(get("/api/collections/posts/records/pst_abc"), problem(418, "BAD_REQUEST")),
    ).rejects.toThrow(/Undocumented status/);
    await expect(
      contract.check(
        get("/health"),
        new Response("ok", { headers: { "content-type": "text/plain" } }),
      ),
    ).rejects.toThrow(/content-type text\/plain/);
    await expect(
      contract.check(get("/health"), json({ status: "ok", home: "node" }, 200, { location: "/x" })),
    ).rejects.toThrow(/sends header location/);
  });

  it("fails loudly on an undocumented route, saying what to document", async () => {
    await expect(
      contract.check({ method: "POST", path: "/api/brand-new/thing" }, json({ ok: true }, 201)),
    ).rejects.toThrow(
      /Undocumented route: POST \/api\/brand-new\/thing → 201.*RouteDocs.*src\/http\/openapi.ts/s,
    );
    // …but middleware problems on any path are fine (no such route, wrong credential).
    await contract.check(get("/api/brand-new/thing"), problem(404, "NOT_FOUND"));
    await contract.check(get("/api/brand-new/thing"), problem(401, "UNAUTHENTICATED"));
  });

  it("checks a 405's Allow against the documented methods", async () => {
    const wrong = { method: "PUT", path: "/api/collections/posts/records/pst_abc" };
    await contract.check(
      wrong,
      problem(405, "METHOD_NOT_ALLOWED", { allow: "DELETE, GET, HEAD, PATCH" }),
    );
    await expect(
      contract.check(wrong, problem(405, "METHOD_NOT_ALLOWED", { allow: "GET, HEAD" })),
    ).rejects.toThrow(/Allow says GET, HEAD/);
  });

  it("checks a stream's status and headers without reading its body", async () => {
    const sse = createContract({
      openapi: "3.1.0",
      info: { title: "t", version: "1" },
      paths: {
        "/stream": {
          get: {
            responses: {
              "200": {
                description: "events",
                headers: { ETag: { required: true, schema: { type: "string" } } },
                content: { "text/event-stream": { schema: { type: "string" } } },
              },
            },
          },
        },
      },
    });
    // A body that never ends: reading it would hang the check.
    const endless = () =>
      new Response(new ReadableStream({ pull: () => new Promise(() => {}) }), {
        headers: { "content-type": "text/event-stream", etag: '"1"' },
      });
    await sse.check(get("/stream"), endless());
    const missing = new Response(new ReadableStream({ pull: () => new Promise(() => {}) }), {
      headers: { "content-type": "text/event-stream" },
    });
    await expect(sse.check(get("/stream"), missing)).rejects.toThrow(/required header etag/);
  });
});
