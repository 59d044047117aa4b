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

  it("serves a docs page that points at the document", async () => {
    const res = await t.request("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await res.text()).toContain('data-url="/openapi.json"');
  });
});
