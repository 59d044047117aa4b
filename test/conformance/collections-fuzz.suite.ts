import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Home, MakeHome, SignedIn } from "./home";

/**
 * Property tests over the HTTP surface: whatever a client puts in a filter, a query parameter or
 * a body, the answer is a 2xx or a 4xx problem — never a 500 — and reads change nothing.
 */
export function defineCollectionsFuzzSuite(makeHome: MakeHome) {
  let t: Home;
  let user: SignedIn;
  let admin: SignedIn;
  let postId: string;
  let firstCursor: string;

  beforeAll(async () => {
    t = await makeHome();
    user = await t.signIn();
    admin = await t.signIn("admin");
    for (let i = 0; i < 4; i++) {
      const res = await t.request("/api/collections/posts/records", {
        method: "POST",
        headers: user.headers,
        json: { title: `fuzz ${i}`, status: "published", tags: ["a", "b_%"] },
      });
      postId = ((await res.json()) as { id: string }).id;
    }
    await t.request("/api/collections/comments/records", {
      method: "POST",
      headers: user.headers,
      json: { post: postId, body: "hi" },
    });
    const page = await t.request("/api/collections/posts/records?limit=2");
    firstCursor = ((await page.json()) as { nextCursor: string }).nextCursor;
  });
  afterAll(() => t.close());

  const collection = fc.constantFrom("posts", "comments", "bookmarks", "profiles");
  const caller = fc.constantFrom("anonymous", "user", "admin");
  const headersOf = (who: string) =>
    who === "user" ? user.headers : who === "admin" ? admin.headers : {};

  async function expectNo500(res: Response, what: string) {
    if (res.status >= 500) throw new Error(`${what} → ${res.status} ${await res.text()}`);
    if (res.status >= 400) {
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(await res.text()).not.toMatch(/SQLITE|sqlite_|SELECT |syntax error/i);
    }
  }

  /** The fuzzed records as written (the workers home's database also holds other files' rows). */
  async function snapshot() {
    const rows = await t.sql(
      "SELECT (SELECT group_concat(id || rev) FROM posts WHERE author = ?) || '|' || (SELECT group_concat(id || rev) FROM comments WHERE author = ?) AS s",
      [user.id, user.id],
    );
    return rows[0]?.s;
  }

  // Tokens of the filter language (valid, hidden, unknown, macros, odd literals) glued at random.
  const token = fc.constantFrom(
    "title",
    "status",
    "tags",
    "author",
    "created",
    "id",
    "moderationNote",
    "email",
    "post",
    "post.status",
    "post.tags",
    "post.moderationNote",
    "post.nope",
    "@request.auth.id",
    "@request.auth.role",
    "@request.auth.email",
    "@now",
    "=",
    "!=",
    ">",
    "<=",
    "~",
    "!~",
    "?=",
    "?!=",
    "?>",
    "?~",
    "?!~",
    "&&",
    "||",
    "(",
    ")",
    "true",
    "null",
    "-2.5",
    "9007199254740993",
    "'%'",
    "'%\\\\'",
    "'\\\\'",
    "'_'",
    "''",
    "'\\''",
    "'published'",
    "'; DROP TABLE posts; --'",
    "/*",
    "--",
    ";",
    "\u0000",
    "é",
  );
  const filter = fc.oneof(
    fc.array(token, { maxLength: 14 }).map((parts) => parts.join(" ")),
    fc
      .tuple(token, fc.constantFrom("=", "~", "?=", "?~", "!~", ">"), token)
      .map((p) => p.join(" ")),
    fc.string({ maxLength: 60 }),
    fc.string({ unit: "binary", maxLength: 30 }),
  );

  describe("hostile input over HTTP", () => {
    it("filters answer 200 or a 400 problem, never 500, and change nothing", async () => {
      const before = await snapshot();
      await fc.assert(
        fc.asyncProperty(filter, collection, caller, async (f, name, who) => {
          const res = await t.request(
            `/api/collections/${name}/records?filter=${encodeURIComponent(f)}`,
            { headers: headersOf(who) },
          );
          await expectNo500(res, `filter ${JSON.stringify(f)} on ${name}`);
          expect([200, 400]).toContain(res.status);
        }),
        { numRuns: 600 },
      );
      expect(await snapshot()).toBe(before);
    }, 60_000);

    it("sort, fields, expand, limit, cursor and total never cause a 500", async () => {
      const before = await snapshot();
      const word = fc.constantFrom(
        "title",
        "-created",
        "+id",
        "tags",
        "post",
        "moderationNote",
        "email",
        "post.title",
        "",
        "-",
        " status ",
        "x".repeat(300),
      );
      const listParam = fc.oneof(
        fc.array(word, { maxLength: 6 }).map((w) => w.join(",")),
        fc.string({ maxLength: 30 }),
      );
      const cursor = fc.oneof(
        listParam,
        fc.base64String({ maxLength: 80 }),
        fc.constant(firstCursor),
        fc.jsonValue({ maxDepth: 2 }).map((v) =>
          btoa(JSON.stringify({ s: "-created,-id", v }))
            .replaceAll("=", "")
            .replaceAll("+", "-"),
        ),
      );
      const query = fc.record(
        {
          sort: listParam,
          fields: listParam,
          expand: listParam,
          cursor,
          limit: fc.oneof(fc.string({ maxLength: 5 }), fc.integer().map(String)),
          total: fc.constantFrom("true", "false", "1", ""),
        },
        { requiredKeys: [] },
      );
      await fc.assert(
        fc.asyncProperty(query, collection, caller, async (q, name, who) => {
          const qs = new URLSearchParams(q as Record<string, string>).toString();
          for (const path of [
            `/api/collections/${name}/records?${qs}`,
            `/api/collections/${name}/records/${postId}?${qs}`,
          ]) {
            await expectNo500(await t.request(path, { headers: headersOf(who) }), path);
          }
        }),
        { numRuns: 400 },
      );
      expect(await snapshot()).toBe(before);
    }, 60_000);

    it("write bodies answer 2xx or a 4xx problem, never 500, in single and batch writes", async () => {
      const key = fc.constantFrom(
        "title",
        "body",
        "status",
        "tags",
        "post",
        "note",
        "displayName",
        "bio",
        "email",
        "author",
        "user",
        "id",
        "rev",
        "created",
        "moderationNote",
        "__proto__",
      );
      const value = fc.oneof(
        fc.jsonValue({ maxDepth: 2 }),
        fc.constant(postId),
        fc.string({ maxLength: 300 }),
        fc.constant("x".repeat(30_000)),
        fc.array(fc.string({ maxLength: 40 }), { maxLength: 12 }),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.dictionary(key, value, { maxKeys: 5 }),
          collection,
          fc.constantFrom("POST", "PATCH", "BATCH"),
          async (body, name, how) => {
            const res =
              how === "POST"
                ? await t.request(`/api/collections/${name}/records`, {
                    method: how,
                    headers: user.headers,
                    json: body,
                  })
                : how === "PATCH"
                  ? await t.request(`/api/collections/posts/records/${postId}`, {
                      method: how,
                      headers: user.headers,
                      json: body,
                    })
                  : await t.request("/api/batch", {
                      method: "POST",
                      headers: user.headers,
                      json: {
                        operations: [
                          { method: "POST", collection: name, body },
                          { method: "PATCH", collection: "posts", id: postId, body },
                        ],
                      },
                    });
            await expectNo500(res, `${how} ${name} ${JSON.stringify(body).slice(0, 200)}`);
          },
        ),
        { numRuns: 400 },
      );
    }, 60_000);
  });
}
