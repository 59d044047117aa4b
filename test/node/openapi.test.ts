import { validate } from "@readme/openapi-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../harness";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe("OpenAPI", () => {
  it("serves a valid OpenAPI 3.1 document covering every collection", async () => {
    const res = await t.request("/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: {
        schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }>;
      };
    };
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid, JSON.stringify(result)).toBe(true);
    expect(doc.openapi).toBe("3.1.0");
    for (const name of ["posts", "comments", "profiles", "bookmarks"]) {
      expect(Object.keys(doc.paths[`/api/collections/${name}/records/{id}`] ?? {})).toEqual([
        "get",
        "patch",
        "delete",
      ]);
    }
    expect(doc.paths["/api/batch"]).toBeDefined();
    const post = doc.components.schemas.postsRecord!;
    expect(Object.keys(post.properties ?? {})).toContain("title");
    expect(Object.keys(post.properties ?? {})).not.toContain("moderationNote");
    expect(Object.keys(post.properties ?? {})).not.toContain("rev");
    const create = doc.components.schemas.postsCreate!;
    expect(create.required).toEqual(["title"]);
    expect(Object.keys(create.properties ?? {})).not.toContain("author");
    expect(doc.components.schemas.Problem).toBeDefined();
  });

  it("documents every route the app serves outside the collections", async () => {
    const doc = (await (await t.request("/openapi.json")).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const prefixes = [
      "/api/auth",
      "/api/keys",
      "/.well-known",
      "/health",
      "/ready",
      "/metrics",
      "/api/admin/stats",
    ];
    const served = t.app.routes
      .filter((r) => r.method !== "ALL")
      .map((r) => ({ method: r.method.toLowerCase(), path: r.path.replace(/:(\w+)/g, "{$1}") }))
      .filter(({ path }) => prefixes.some((p) => path === p || path.startsWith(`${p}/`)));
    expect(served.length).toBeGreaterThanOrEqual(24);
    const missing = served.filter(({ method, path }) => doc.paths[path]?.[method] === undefined);
    expect(missing).toEqual([]);
    // …and documents nothing the app does not serve.
    const servedKeys = new Set(served.map(({ method, path }) => `${method} ${path}`));
    const documented = Object.entries(doc.paths)
      .filter(([path]) => prefixes.some((p) => path === p || path.startsWith(`${p}/`)))
      .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`));
    expect(documented.filter((key) => !servedKeys.has(key))).toEqual([]);
  });

  it("derives each route's problem responses from the error table", async () => {
    const doc = (await (await t.request("/openapi.json")).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    type Problem = {
      headers?: Record<string, unknown>;
      content: Record<
        string,
        { schema: { allOf: { properties?: { code: { enum: string[] } } }[] } }
      >;
    };
    const codes = (path: string, method: string, status: string) =>
      (doc.paths[path]![method]!.responses[status] as Problem).content["application/problem+json"]!
        .schema.allOf[1]!.properties!.code.enum;
    expect(codes("/api/auth/signup", "post", "409")).toEqual(["CONFLICT"]);
    expect(codes("/api/auth/signup", "post", "400")).toEqual(["INVALID_JSON", "VALIDATION_FAILED"]);
    expect(codes("/api/keys", "post", "409")).toEqual(["API_KEY_LIMIT"]);
    expect(codes("/api/auth/oauth/{provider}/callback", "get", "403")).toEqual([
      "EMAIL_NOT_VERIFIED",
    ]);
    expect(codes("/api/admin/stats", "get", "403")).toEqual(["FORBIDDEN"]);
    expect(codes("/ready", "get", "503")).toEqual(["UNAVAILABLE"]);
    expect(codes("/api/auth/me", "get", "401")).toEqual(["UNAUTHENTICATED"]);
    const unauthorized = doc.paths["/api/auth/me"]!.get!.responses["401"] as Problem;
    expect(Object.keys(unauthorized.headers ?? {})).toContain("WWW-Authenticate");
    // A request schema is the one the operation validates with.
    const signup = doc.paths["/api/auth/signup"]!.post as unknown as {
      requestBody: { content: { "application/json": { schema: { required: string[] } } } };
    };
    expect(signup.requestBody.content["application/json"].schema.required).toEqual([
      "email",
      "password",
    ]);
  });

  it("serves a docs page that points at the document", async () => {
    const res = await t.request("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await res.text()).toContain('data-url="/openapi.json"');
  });
});
