import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Home, type MakeHome, readProblem, unique } from "./home";

/**
 * The collections REST API as a client sees it: create/read with ETags, validation, list
 * (filter, sort, fields, cursor paging, expand), conditional updates, delete, atomic batches
 * and hostile filters. Counts are taken over the test's own authors' rows: the workers home
 * shares its database with other files.
 */
export function defineCollectionsRestSuite(makeHome: MakeHome) {
  let t: Home;
  beforeAll(async () => {
    t = await makeHome();
  });
  afterAll(() => t.close());

  const url = (name: string, rest = "") => `/api/collections/${name}/records${rest}`;

  async function createPost(headers: Record<string, string>, body: Record<string, unknown> = {}) {
    const res = await t.request(url("posts"), {
      method: "POST",
      headers,
      json: { title: "A post", status: "published", ...body },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    return { res, post: (await res.json()) as Record<string, unknown> & { id: string } };
  }

  /** How many posts these authors have (every post has its author; nobody else writes theirs). */
  async function postsBy(...authors: { id: string }[]) {
    const rows = await t.sql(
      `SELECT count(*) AS n FROM posts WHERE author IN (${authors.map(() => "?").join(", ")})`,
      authors.map((a) => a.id),
    );
    return Number(rows[0]?.n);
  }

  describe("create and read", () => {
    it("creates a record with server-managed fields and reads it back with its ETag", async () => {
      const author = await t.signIn();
      const { res, post } = await createPost(author.headers, {
        title: "Hello",
        tags: ["intro", "news"],
      });
      expect(post.id).toMatch(/^pst_[a-z0-9]{15}$/);
      expect(post).toMatchObject({
        title: "Hello",
        status: "published",
        tags: ["intro", "news"],
        author: author.id,
        body: "",
      });
      expect(new Date(post.created as string).toISOString()).toBe(post.created);
      expect(post).not.toHaveProperty("rev");
      expect(post).not.toHaveProperty("moderationNote");
      expect(res.headers.get("location")).toBe(url("posts", `/${post.id}`));
      const etag = res.headers.get("etag");
      expect(etag).toBe(`"${post.id}.1"`);

      const view = await t.request(url("posts", `/${post.id}`));
      expect(view.status).toBe(200);
      expect(view.headers.get("etag")).toBe(etag);
      expect(await view.json()).toEqual(post);
    });

    it("ignores nothing: server-managed, owner and unknown fields are rejected", async () => {
      const author = await t.signIn();
      for (const body of [
        { id: "pst_mine" },
        { created: "2020-01-01T00:00:00.000Z" },
        { author: "usr_someoneelse" },
        { rev: 9 },
        { nope: 1 },
        { moderationNote: "x" },
      ]) {
        const res = await t.request(url("posts"), {
          method: "POST",
          headers: author.headers,
          json: { title: "x", ...body },
        });
        expect(res.status, JSON.stringify(body)).toBe(400);
        const problem = await readProblem(res);
        expect(problem.code).toBe("VALIDATION_FAILED");
        expect(problem.errors?.[0]?.path).toBe(`/${Object.keys(body)[0]}`);
      }
    });

    it("validates types, required fields, lengths and enums with field paths", async () => {
      const author = await t.signIn();
      // zod's English messages, in both homes (zod/mini registers no locale by itself).
      const cases: [Record<string, unknown>, string, string][] = [
        [{}, "/title", "Invalid input: expected string, received undefined"],
        [{ title: 42 }, "/title", "Invalid input: expected string, received number"],
        [{ title: "x".repeat(201) }, "/title", "Too big: expected string to have <=200 characters"],
        [
          { title: "ok", status: "archived" },
          "/status",
          'Invalid option: expected one of "draft"|"published"',
        ],
        [{ title: "ok", tags: "news" }, "/tags", "Invalid input: expected array, received string"],
        [
          { title: "ok", tags: ["x".repeat(31)] },
          "/tags/0",
          "Too big: expected string to have <=30 characters",
        ],
        [{ title: null }, "/title", "Invalid input: expected string, received null"],
      ];
      const before = await postsBy(author);
      for (const [body, path, message] of cases) {
        const res = await t.request(url("posts"), {
          method: "POST",
          headers: author.headers,
          json: body,
        });
        expect(res.status, JSON.stringify(body)).toBe(400);
        const problem = await readProblem(res);
        expect(problem.code).toBe("VALIDATION_FAILED");
        expect(problem.errors).toContainEqual({ path, message });
      }
      expect(await postsBy(author)).toBe(before);
    });

    it("answers bad bodies with clear problems, never a 500", async () => {
      const author = await t.signIn();
      const send = (body: string, type = "application/json") =>
        t.request(url("posts"), {
          method: "POST",
          headers: { ...author.headers, "content-type": type },
          body,
        });
      expect((await readProblem(await send("{bad json"))).code).toBe("INVALID_JSON");
      expect((await readProblem(await send("[1,2]"))).code).toBe("VALIDATION_FAILED");
      expect((await readProblem(await send('"text"'))).code).toBe("VALIDATION_FAILED");
      expect(
        (await readProblem(await send("title=x", "application/x-www-form-urlencoded"))).code,
      ).toBe("UNSUPPORTED_MEDIA_TYPE");
      const huge = await send(JSON.stringify({ title: "x", body: "y".repeat(2 * 1024 * 1024) }));
      expect(huge.status).toBe(413);
    });

    it("maps a unique violation to 409 and a missing relation to 400", async () => {
      const user = await t.signIn();
      const first = await t.request(url("profiles"), {
        method: "POST",
        headers: user.headers,
        json: { displayName: "Ada" },
      });
      expect(first.status).toBe(201);
      const second = await t.request(url("profiles"), {
        method: "POST",
        headers: user.headers,
        json: { displayName: "Ada again" },
      });
      expect(second.status).toBe(409);
      const conflict = await readProblem(second);
      expect(conflict.code).toBe("CONFLICT");
      expect(JSON.stringify(conflict)).not.toMatch(/SQLITE|UNIQUE constraint/);

      const dangling = await t.request(url("bookmarks"), {
        method: "POST",
        headers: user.headers,
        json: { post: "pst_doesnotexist" },
      });
      expect(dangling.status).toBe(400);
      expect((await readProblem(dangling)).code).toBe("VALIDATION_FAILED");
    });

    it("404s unknown collections and malformed ids", async () => {
      expect((await readProblem(await t.request(url("nope")))).code).toBe("UNKNOWN_COLLECTION");
      expect((await t.request(url("posts", "/'; DROP TABLE posts; --"))).status).toBe(404);
      expect((await t.request(url("posts", "/pst_missing00000"))).status).toBe(404);
    });
  });

  describe("list", () => {
    it("filters, sorts, selects fields and counts", async () => {
      const author = await t.signIn();
      const marker = unique("m");
      for (const [title, tags] of [
        ["b", ["x"]],
        ["a", ["y"]],
        ["c", ["x", "z"]],
      ] as const) {
        await createPost(author.headers, { title: `${marker}-${title}`, tags: [...tags] });
      }
      const q = new URLSearchParams({
        filter: `title ~ '${marker}' && tags ?= 'x'`,
        sort: "title",
        fields: "title,tags",
        total: "true",
      });
      const res = await t.request(`${url("posts")}?${q}`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        items: Record<string, unknown>[];
        total: number;
        nextCursor: string | null;
      };
      expect(body.items).toEqual([
        { title: `${marker}-b`, tags: ["x"] },
        { title: `${marker}-c`, tags: ["x", "z"] },
      ]);
      expect(body.total).toBe(2);
      expect(body.nextCursor).toBeNull();
    });

    it("pages with an opaque cursor without gaps or repeats", async () => {
      const author = await t.signIn();
      const marker = unique("page");
      for (let i = 0; i < 23; i++)
        await createPost(author.headers, { title: `${marker} ${String(i).padStart(2, "0")}` });
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const q = new URLSearchParams({
          filter: `title ~ '${marker}'`,
          sort: "-title",
          limit: "5",
          ...(cursor ? { cursor } : {}),
        });
        const body = (await (await t.request(`${url("posts")}?${q}`)).json()) as {
          items: { title: string }[];
          nextCursor: string | null;
        };
        seen.push(...body.items.map((p) => p.title));
        cursor = body.nextCursor;
        pages++;
      } while (cursor !== null && pages < 10);
      expect(pages).toBe(5);
      expect(seen).toEqual(
        Array.from({ length: 23 }, (_, i) => `${marker} ${String(22 - i).padStart(2, "0")}`),
      );
    });

    it("rejects bad paging and sorting parameters", async () => {
      const cases: [string, string][] = [
        ["limit=201", "INVALID_QUERY"],
        ["limit=0", "INVALID_QUERY"],
        ["limit=abc", "INVALID_QUERY"],
        ["sort=nope", "INVALID_QUERY"],
        ["sort=moderationNote", "INVALID_QUERY"],
        ["sort=tags", "INVALID_QUERY"],
        ["fields=moderationNote", "INVALID_QUERY"],
        ["expand=title", "INVALID_QUERY"],
        ["cursor=not-a-cursor!!", "INVALID_QUERY"],
        [`cursor=${btoa(JSON.stringify({ s: "title,id", v: ["a", "b"] }))}`, "INVALID_QUERY"],
        ["total=maybe", "INVALID_QUERY"],
      ];
      for (const [query, code] of cases) {
        const res = await t.request(`${url("posts")}?${query}`);
        expect(res.status, query).toBe(400);
        expect((await readProblem(res)).code, query).toBe(code);
      }
    });

    it("expands one relation level under the related collection's own rules", async () => {
      const owner = await t.signIn();
      const other = await t.signIn();
      const { post: published } = await createPost(other.headers, { title: "public one" });
      const { post: draft } = await createPost(other.headers, { title: "soon a draft" });
      for (const post of [published, draft]) {
        const res = await t.request(url("bookmarks"), {
          method: "POST",
          headers: owner.headers,
          json: { post: post.id },
        });
        expect(res.status).toBe(201);
      }
      // Bookmarked while published; its author takes it back to a draft.
      const unpublish = await t.request(url("posts", `/${draft.id}`), {
        method: "PATCH",
        headers: other.headers,
        json: { status: "draft" },
      });
      expect(unpublish.status).toBe(200);
      const res = await t.request(`${url("bookmarks")}?expand=post&sort=created`, {
        headers: owner.headers,
      });
      const body = (await res.json()) as {
        items: { post: string; expand: { post: Record<string, unknown> | null } }[];
      };
      expect(body.items).toHaveLength(2);
      const byPost = new Map(body.items.map((b) => [b.post, b.expand.post]));
      expect(byPost.get(published.id)).toMatchObject({ id: published.id, title: "public one" });
      expect(byPost.get(published.id)).not.toHaveProperty("moderationNote");
      expect(byPost.get(draft.id)).toBeNull();
    });
  });

  describe("update and delete", () => {
    it("updates with If-Match and bumps the ETag; a stale ETag is a 412", async () => {
      const author = await t.signIn();
      const { res, post } = await createPost(author.headers);
      const etag = res.headers.get("etag")!;
      const ok = await t.request(url("posts", `/${post.id}`), {
        method: "PATCH",
        headers: { ...author.headers, "if-match": etag },
        json: { title: "Edited" },
      });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ title: "Edited" });
      expect(ok.headers.get("etag")).toBe(`"${post.id}.2"`);
      const stale = await t.request(url("posts", `/${post.id}`), {
        method: "PATCH",
        headers: { ...author.headers, "if-match": etag },
        json: { title: "Lost" },
      });
      expect(stale.status).toBe(412);
      expect((await readProblem(stale)).code).toBe("PRECONDITION_FAILED");
      expect(stale.headers.get("etag")).toBe(`"${post.id}.2"`);
    });

    it("lets exactly one of two concurrent PATCHes with the same ETag win", async () => {
      const author = await t.signIn();
      const { res, post } = await createPost(author.headers);
      const etag = res.headers.get("etag")!;
      const results = await Promise.all(
        ["first", "second"].map((title) =>
          t.request(url("posts", `/${post.id}`), {
            method: "PATCH",
            headers: { ...author.headers, "if-match": etag },
            json: { title },
          }),
        ),
      );
      expect(results.map((r) => r.status).sort()).toEqual([200, 412]);
    });

    it("deletes, and the record is gone", async () => {
      const author = await t.signIn();
      const { post } = await createPost(author.headers);
      expect(
        (
          await t.request(url("posts", `/${post.id}`), {
            method: "DELETE",
            headers: author.headers,
          })
        ).status,
      ).toBe(204);
      expect((await t.request(url("posts", `/${post.id}`))).status).toBe(404);
      expect(
        (
          await t.request(url("posts", `/${post.id}`), {
            method: "DELETE",
            headers: author.headers,
          })
        ).status,
      ).toBe(404);
    });
  });

  describe("batch", () => {
    it("applies every operation atomically", async () => {
      const author = await t.signIn();
      const { post } = await createPost(author.headers);
      const res = await t.request("/api/batch", {
        method: "POST",
        headers: author.headers,
        json: {
          operations: [
            { method: "POST", collection: "posts", body: { title: "from batch" } },
            {
              method: "PATCH",
              collection: "posts",
              id: post.id,
              body: { title: "patched in batch" },
            },
            { method: "POST", collection: "comments", body: { post: post.id, body: "first!" } },
          ],
        },
      });
      expect(res.status, await res.clone().text()).toBe(200);
      const body = (await res.json()) as {
        results: { status: number; body: Record<string, unknown> }[];
      };
      expect(body.results.map((r) => r.status)).toEqual([201, 200, 201]);
      expect(body.results[1]?.body.title).toBe("patched in batch");
    });

    it("applies none when one operation fails, whatever the reason", async () => {
      const author = await t.signIn();
      const stranger = await t.signIn();
      const { post } = await createPost(author.headers, { title: "untouched" });
      const attempts = [
        { method: "PATCH", collection: "posts", id: post.id, body: { title: "hijacked" } },
        { method: "DELETE", collection: "posts", id: "pst_doesnotexist0" },
        { method: "POST", collection: "bookmarks", body: { post: "pst_doesnotexist0" } },
      ];
      for (const failing of attempts) {
        const before = await postsBy(author, stranger);
        const res = await t.request("/api/batch", {
          method: "POST",
          headers: stranger.headers,
          json: {
            operations: [
              { method: "POST", collection: "posts", body: { title: "should vanish" } },
              failing,
            ],
          },
        });
        expect(res.status, JSON.stringify(failing)).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(await postsBy(author, stranger)).toBe(before);
      }
      const view = (await (await t.request(url("posts", `/${post.id}`))).json()) as {
        title: string;
      };
      expect(view.title).toBe("untouched");
    });

    it("validates the batch envelope", async () => {
      const user = await t.signIn();
      for (const json of [
        {},
        { operations: [] },
        {
          operations: Array.from({ length: 51 }, () => ({
            method: "DELETE",
            collection: "posts",
            id: "pst_x",
          })),
        },
        { operations: [{ method: "PUT", collection: "posts", id: "pst_x" }] },
        { operations: [{ method: "POST", collection: "posts", body: { title: "x" }, extra: 1 }] },
      ]) {
        const res = await t.request("/api/batch", { method: "POST", headers: user.headers, json });
        expect(res.status, JSON.stringify(json).slice(0, 80)).toBe(400);
      }
    });
  });

  describe("hostile filters", () => {
    it("answer 400 (or a harmless 200), never 500, and change nothing", async () => {
      const author = await t.signIn();
      const { post: canary } = await createPost(author.headers, { title: "canary post" });
      // What the filters could touch: this test's posts, and the canary exactly as written.
      const snapshot = () =>
        t.sql("SELECT id, rev, title FROM posts WHERE author = ? ORDER BY id", [author.id]);
      const before = await snapshot();
      expect(before).toEqual([{ id: canary.id, rev: 1, title: "canary post" }]);
      const hostile = [
        "title = '' OR 1=1 --",
        "title = 'x'; DROP TABLE posts; --",
        "title = 'x' /* comment */",
        'title = "x\\"); DELETE FROM posts; --"',
        "1 = 1",
        "title = '\u0000'",
        "title = '\u202e\u2066 unicode ☃ 𝄞'",
        "title ~ '%' && id != ''",
        "((((((((((title = 'a'))))))))))",
        "title = 'a' ".repeat(300),
        `title = '${"x".repeat(5000)}'`,
        "@request.auth.id = @request.auth.id",
        "moderationNote != ''",
        "post.title = 'x'",
        "title = sqlite_version()",
        "title IN ('a')",
        "title = 0x41",
        "title = 1e999",
        "title = -",
        "",
        "   ",
        "title = 'a' || || title = 'b'",
      ];
      for (const filter of hostile) {
        const res = await t.request(`${url("posts")}?filter=${encodeURIComponent(filter)}`);
        expect(res.status, filter.slice(0, 60)).toBeLessThan(500);
        if (res.status === 400) {
          const problem = await readProblem(res);
          expect(["INVALID_FILTER", "INVALID_QUERY"]).toContain(problem.code);
          expect(problem.detail).toMatch(/character \d+|filter/);
        }
      }
      expect(await snapshot()).toEqual(before);
      // The table is still there and still readable for everyone else too.
      expect((await t.request(url("posts", `/${canary.id}`))).status).toBe(200);
    });
  });
}
