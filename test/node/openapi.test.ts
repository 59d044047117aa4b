import { validate } from "@readme/openapi-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collections } from "../../src/collections/index";
import { queryParameters } from "../../src/http/middleware/strict-query";
import { credentialFreePaths } from "../../src/http/openapi";
import { createContract } from "../conformance/contract";
import { createTestApp, type TestApp } from "../harness";

type Json = Record<string, unknown>;

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

  it("documents every route the app serves, and nothing it does not", async () => {
    const doc = (await (await t.request("/openapi.json")).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    // Collection routes are documented per collection (/api/collections/posts/records, …);
    // search only for the collections that declare it.
    const collectionNames = collections.map((c) => c.name);
    const searchable = collections
      .filter((c) => c.options.search !== undefined || c.options.vector !== undefined)
      .map((c) => c.name);
    const served = t.app.routes
      .filter((r) => r.method !== "ALL")
      .map((r) => ({ method: r.method.toLowerCase(), path: r.path.replace(/:(\w+)/g, "{$1}") }))
      .flatMap(({ method, path }) =>
        path.startsWith("/api/collections/{name}")
          ? (path.endsWith("/search") ? searchable : collectionNames).map((n) => ({
              method,
              path: path.replace("{name}", n),
            }))
          : [{ method, path }],
      );
    expect(served.length).toBeGreaterThanOrEqual(60);
    const missing = served.filter(({ method, path }) => doc.paths[path]?.[method] === undefined);
    expect(
      missing.map(({ method, path }) => `${method} ${path}`),
      "routes without a RouteDocs entry (src/http/route-docs.ts) listed in src/http/openapi.ts",
    ).toEqual([]);
    const servedKeys = new Set(served.map(({ method, path }) => `${method} ${path}`));
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops)
        .filter((k) => ["get", "post", "put", "patch", "delete"].includes(k))
        .map((method) => `${method} ${path}`),
    );
    expect(documented.filter((key) => !servedKeys.has(key))).toEqual([]);
  });

  it("gives every operation a unique operationId, tags and a security requirement that holds", async () => {
    const doc = (await (await t.request("/openapi.json")).json()) as {
      paths: Record<
        string,
        Record<string, { operationId?: string; tags?: string[]; security?: unknown[] }>
      >;
      components: { securitySchemes: Record<string, { type: string; name?: string; in?: string }> };
      tags: { name: string }[];
    };
    const ops = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({ key: `${method} ${path}`, path, op })),
    );
    const ids = ops.map(({ op }) => op.operationId);
    expect(ids.filter((id) => id === undefined)).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    const declared = new Set(doc.tags.map((tag) => tag.name));
    for (const { key, op } of ops) {
      expect(op.tags?.length, key).toBeGreaterThan(0);
      for (const tag of op.tags ?? []) expect(declared.has(tag), key).toBe(true);
    }
    expect(doc.components.securitySchemes.apiKey).toEqual(
      expect.objectContaining({ type: "apiKey", in: "header", name: "x-api-key" }),
    );
    // Exactly the routes that skip authentication say they need no credential.
    const open = ops
      .filter(({ op }) => Array.isArray(op.security) && op.security.length === 0)
      .map(({ path }) => path);
    expect(new Set(open)).toEqual(new Set(credentialFreePaths));
  });

  it("describes records exactly: typed lists, partial and expanded answers, batch bodies", async () => {
    const doc = (await (await t.request("/openapi.json")).json()) as {
      paths: Record<
        string,
        Record<string, { parameters?: { name: string; schema: Json }[]; requestBody?: Json }>
      >;
      components: { schemas: Record<string, Json> };
    };
    const post = doc.components.schemas.postsRecord as {
      properties: Record<string, Json>;
      additionalProperties: boolean;
    };
    expect(post.properties.tags).toEqual(
      expect.objectContaining({
        type: "array",
        items: expect.objectContaining({ type: "string" }),
      }),
    );
    expect(post.properties.created).toEqual(expect.objectContaining({ format: "date-time" }));
    const comment = doc.components.schemas.commentsRecord as { properties: Record<string, Json> };
    expect(comment.properties.expand).toBeDefined();
    expect(
      (doc.components.schemas.commentsPartial as { required?: string[] }).required,
    ).toBeUndefined();
    const list = doc.paths["/api/collections/posts/records"]!.get!;
    const param = (name: string) => list.parameters!.find((p) => p.name === name)!.schema;
    const fields = new RegExp(param("fields").pattern as string);
    expect(fields.test("title,tags")).toBe(true);
    expect(fields.test("title,moderationNote")).toBe(false);
    const sort = new RegExp(param("sort").pattern as string);
    expect(sort.test("-created,title")).toBe(true);
    expect(sort.test("tags")).toBe(false);
    // What the server refuses the pattern refuses: a repeat (whatever its sign), a fifth key.
    expect(sort.test("title,-created,+title")).toBe(false);
    expect(sort.test("title,created,updated,id,body")).toBe(false);
    const batch = (
      doc.paths["/api/batch"]!.post!.requestBody as {
        content: {
          "application/json": {
            schema: { properties: { operations: Json }; additionalProperties: boolean };
          };
        };
      }
    ).content["application/json"].schema;
    expect(batch.additionalProperties).toBe(false);
    expect(batch.properties.operations).toEqual(
      expect.objectContaining({ minItems: 1, maxItems: 50 }),
    );
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
    expect(codes("/api/auth/signup", "post", "400")).toEqual([
      "INVALID_JSON",
      "INVALID_QUERY",
      "VALIDATION_FAILED",
    ]);
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

  it("checks each route's query string against exactly the parameters its docs name", async () => {
    type Operation = {
      parameters?: { name: string; in: string }[];
      responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
    };
    const doc = (await (await t.request("/openapi.json")).json()) as {
      paths: Record<string, Record<string, Operation>>;
    };
    const collectionNames = collections.map((c) => c.name);
    const served = t.app.routes
      .filter((r) => r.method !== "ALL")
      .map((r) => ({ key: `${r.method} ${r.path}`, method: r.method.toLowerCase(), path: r.path }));
    // Each served route's documented operations (a collection route documents one per collection).
    const operationsOf = (method: string, path: string) =>
      (path.startsWith("/api/collections/:name")
        ? collectionNames.map((n) => path.replace(":name", n))
        : [path]
      )
        .map((p) => doc.paths[p.replace(/:(\w+)/g, "{$1}")]?.[method])
        .filter((op): op is Operation => op !== undefined);
    const documented = served.filter(({ method, path }) => operationsOf(method, path).length > 0);
    expect(documented.length).toBeGreaterThanOrEqual(80);
    const stale = Object.keys(queryParameters).filter(
      (key) => !documented.some((route) => route.key === key),
    );
    expect(stale, "rules for routes the app does not serve or document").toEqual([]);
    const queryNames = (op: Operation) =>
      (op.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name);
    const refuses = (op: Operation) =>
      JSON.stringify(
        op.responses["400"]?.content?.["application/problem+json"]?.schema ?? {},
      ).includes('"INVALID_QUERY"');
    for (const { key, method, path } of documented) {
      // A route the table does not name takes none.
      const rule = queryParameters[key] ?? [];
      for (const op of operationsOf(method, path)) {
        // The middleware's list is the documented one, and the refusal is documented.
        if (typeof rule !== "string") expect([...rule].sort(), key).toEqual(queryNames(op).sort());
        expect(refuses(op), key).toBe(rule !== "foreign");
      }
    }
    // Exemptions are few and named: only the OAuth callbacks take someone else's parameters.
    expect(
      Object.entries(queryParameters)
        .filter(([, rule]) => rule === "foreign")
        .map(([key]) => key),
    ).toEqual([
      "GET /api/auth/oauth/:provider/callback",
      "POST /api/auth/oauth/:provider/callback",
    ]);
  });

  // Compiles a validator for every schema with an example (hundreds): ~1 s on a quiet machine,
  // 9 s at load average 15, so it gets more than the default 5 s.
  it("gives every request body and 2xx answer an example that its own schema accepts", async () => {
    const doc = (await (await t.request("/openapi.json")).json()) as Json;
    const contract = createContract(doc);
    const pointer = (parts: string[]) =>
      parts.map((p) => `/${p.replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");
    // Every example in the document (media types, parameters, schemas) against its schema.
    const invalid: string[] = [];
    let checked = 0;
    const walk = (node: unknown, at: string[]): void => {
      if (typeof node !== "object" || node === null) return;
      const n = node as Json;
      if ("example" in n && !at.includes("properties")) {
        const schemaAt = "schema" in n ? [...at, "schema"] : at;
        checked++;
        const errors = contract.validate(pointer(schemaAt), n.example);
        if (errors.length > 0) invalid.push(`${pointer(at)}:\n  ${errors.join("\n  ")}`);
      }
      for (const [key, value] of Object.entries(n)) walk(value, [...at, key]);
    };
    walk(doc, []);
    expect(invalid).toEqual([]);
    expect(checked).toBeGreaterThan(300);

    // Bodies that have no example, each with the reason.
    const exempt: Record<string, string> = {
      "post /api/collections/attachments/records multipart/form-data":
        "multipart: the parts are files, the JSON example is on application/json",
      "patch /api/collections/attachments/records/{id} multipart/form-data":
        "multipart: the parts are files, the JSON example is on application/json",
      "get /docs 200 text/html": "the reference page itself",
      "get /graphql 200 text/html": "GraphiQL's page",
      "get /graphql/graphiql.js 200 text/javascript": "GraphiQL's script",
      "get /metrics 200 text/plain": "Prometheus text, described in the operation",
      "get /api/realtime 200 text/event-stream":
        "a stream; its events are described in the operation",
      "get /api/files/{collection}/{record}/{name} 200 */*": "the stored file's bytes",
      "get /api/files/{collection}/{record}/{name} 206 */*": "a range of the stored file's bytes",
    };
    const missing: string[] = [];
    let operations = 0;
    for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
      for (const [method, op] of Object.entries(item as Record<string, Json>)) {
        if (op.responses === undefined) continue;
        operations++;
        const bodies: [string, Json][] = Object.entries(
          ((op.requestBody as Json | undefined)?.content ?? {}) as Record<string, Json>,
        );
        for (const [status, answer] of Object.entries(op.responses as Record<string, Json>)) {
          if (!status.startsWith("2")) continue;
          for (const [type, media] of Object.entries(
            (answer.content ?? {}) as Record<string, Json>,
          ))
            bodies.push([`${status} ${type}`, media]);
        }
        for (const [what, media] of bodies) {
          const key = `${method} ${path} ${what}`;
          if (media.example === undefined && media.examples === undefined && !(key in exempt))
            missing.push(key);
        }
      }
    }
    expect(operations).toBeGreaterThan(100);
    expect(missing).toEqual([]);
  }, 60_000);

  it("serves a docs page that points at the document", async () => {
    const res = await t.request("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await res.text()).toContain('data-url="/openapi.json"');
  });
});
