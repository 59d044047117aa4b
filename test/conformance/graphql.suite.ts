import { ClientError, GraphQLClient, gql as graphql } from "graphql-request";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKey } from "./auth-helpers";
import { type Home, type MakeHome, publishPost, q, unique } from "./home";

/** What /graphql answers: its status, and the GraphQL body. */
export interface GraphQLAnswer {
  status: number;
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: unknown[]; extensions?: Record<string, unknown> }[];
  headers: Headers;
  text: string;
}

/** Sends a GraphQL request (POST, or GET with the query in the URL); never accepts a 500. */
export async function gql(
  t: Home,
  query: string,
  variables: Record<string, unknown> = {},
  init: { headers?: Record<string, string>; method?: "GET" | "POST"; extensions?: unknown } = {},
): Promise<GraphQLAnswer> {
  let res: Response;
  if (init.method === "GET") {
    const params = new URLSearchParams();
    if (query !== "") params.set("query", query);
    if (Object.keys(variables).length > 0) params.set("variables", JSON.stringify(variables));
    if (init.extensions !== undefined) params.set("extensions", JSON.stringify(init.extensions));
    res = await t.request(`/graphql?${params}`, { headers: init.headers ?? {} });
  } else {
    res = await t.request("/graphql", {
      method: "POST",
      headers: init.headers ?? {},
      json: {
        ...(query === "" ? {} : { query }),
        variables,
        ...(init.extensions === undefined ? {} : { extensions: init.extensions }),
      },
    });
  }
  const text = await res.text();
  expect(res.status, text).toBeLessThan(500);
  const body = JSON.parse(text) as Omit<GraphQLAnswer, "status" | "headers" | "text">;
  return { ...body, status: res.status, headers: res.headers, text };
}

interface Page {
  items: { id: string; title: string; status?: string; author?: string; _etag?: string | null }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  total: number | null;
}

/** A field of `data`, failing with the answer when there is no data. */
export function field<T>(a: GraphQLAnswer, key: string): T {
  if (a.data === undefined || a.data === null) throw new Error(`no data: ${a.text}`);
  return a.data[key] as T;
}

export const codes = (a: GraphQLAnswer) => (a.errors ?? []).map((e) => e.extensions?.code);

/**
 * GraphQL at /graphql in both homes: the generated schema reads and writes through the same
 * engine as REST (rules, filters, ETags, batches), relations load in batches, public GET
 * queries are cached at the edge with REST's versioned invalidation, and hostile documents get
 * GraphQL errors with codes, never a 500.
 */
export function defineGraphQLSuite(makeHome: MakeHome) {
  let t: Home;
  beforeAll(async () => {
    t = await makeHome();
  });
  afterAll(() => t.close());

  describe("queries", () => {
    it("lists with a filter, sort, pages and total; reads by id; follows relations", async () => {
      const user = await t.signIn();
      const tag = unique("gq");
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await publishPost(t, user.headers, `${tag} ${i}`)).id);
      const list = `query($f: String!, $after: String) {
        posts(filter: $f, sort: "title", limit: 2, after: $after) {
          items { id title status author _etag }
          pageInfo { hasNextPage endCursor }
          total
        }
      }`;
      const first = await gql(t, list, { f: `title ~ '${tag}'` });
      expect(first.status, first.text).toBe(200);
      const page = (first.data as { posts: Page }).posts;
      expect(page.items.map((p: { title: string }) => p.title)).toEqual([`${tag} 0`, `${tag} 1`]);
      expect(page.items[0]).toMatchObject({ status: "published", author: user.id, _etag: null });
      expect(page.total).toBe(3);
      expect(page.pageInfo.hasNextPage).toBe(true);
      const second = await gql(t, list, { f: `title ~ '${tag}'`, after: page.pageInfo.endCursor });
      const rest = (second.data as { posts: Page }).posts;
      expect(rest.items.map((p: { title: string }) => p.title)).toEqual([`${tag} 2`]);
      expect(rest.pageInfo).toEqual({ hasNextPage: false, endCursor: null });

      const one = await gql(t, `query($id: ID!) { post(id: $id) { id title _etag } }`, {
        id: ids[0],
      });
      expect(one.data?.post).toEqual({ id: ids[0], title: `${tag} 0`, _etag: `"${ids[0]}.1"` });
      const missing = await gql(t, `{ post(id: "pst_doesnotexist") { id } }`);
      expect(missing.data?.post).toBeNull();
      expect(missing.errors).toBeUndefined();

      const comment = await t.request("/api/collections/comments/records", {
        method: "POST",
        headers: user.headers,
        json: { post: ids[1], body: "nested" },
      });
      const commentId = ((await comment.json()) as { id: string }).id;
      const nested = await gql(
        t,
        `query($id: ID!) { comment(id: $id) { body postId post { title } } }`,
        {
          id: commentId,
        },
      );
      expect(nested.data?.comment).toEqual({
        body: "nested",
        postId: ids[1],
        post: { title: `${tag} 1` },
      });
    });

    it("applies the filter language and its errors as REST does", async () => {
      const bad = await gql(t, `{ posts(filter: "title ~") { items { id } } }`);
      expect(codes(bad)).toEqual(["INVALID_FILTER"]);
      expect(bad.text).not.toMatch(/SELECT|sqlite|at .*\.ts/i);
      const hidden = await gql(t, `{ posts(filter: "moderationNote ~ 'x'") { items { id } } }`);
      expect(codes(hidden)).toEqual(["INVALID_FILTER"]);
      const tooMany = await gql(t, `{ posts(limit: 100000) { items { id } } }`);
      expect(codes(tooMany)).toEqual(["INVALID_QUERY"]);
    });

    it("applies the related collection's view rule to nested records", async () => {
      const author = await t.signIn();
      const reader = await t.signIn();
      const post = (await publishPost(t, author.headers, unique("rel"))).id;
      const saved = await t.request("/api/collections/bookmarks/records", {
        method: "POST",
        headers: reader.headers,
        json: { post },
      });
      expect(saved.status).toBe(201);
      const bookmark = ((await saved.json()) as { id: string }).id;
      const query = `query($id: ID!) { bookmark(id: $id) { postId post { id title } } }`;
      const before = await gql(t, query, { id: bookmark }, { headers: reader.headers });
      expect(before.data?.bookmark).toMatchObject({ postId: post, post: { id: post } });
      // The author takes the post back to draft: the reader may no longer view it.
      const draft = await t.request(`/api/collections/posts/records/${post}`, {
        method: "PATCH",
        headers: author.headers,
        json: { status: "draft" },
      });
      expect(draft.status).toBe(200);
      const after = await gql(t, query, { id: bookmark }, { headers: reader.headers });
      expect(after.errors).toBeUndefined();
      expect(after.data?.bookmark).toEqual({ postId: post, post: null });
      const list = await gql(
        t,
        `{ bookmarks { items { id post { title } } } }`,
        {},
        { headers: reader.headers },
      );
      expect(field<{ items: unknown[] }>(list, "bookmarks").items).toEqual([
        { id: bookmark, post: null },
      ]);
      const own = await gql(t, query, { id: bookmark }, { headers: author.headers });
      expect(own.data?.bookmark).toBeNull();
    });

    it("answers simple reads on the fast path exactly as graphql-js does", async () => {
      const user = await t.signIn();
      const tag = unique("fp");
      const a = (await publishPost(t, user.headers, `${tag} a`)).id;
      await publishPost(t, user.headers, `${tag} b`);
      const commented = await t.request("/api/collections/comments/records", {
        method: "POST",
        headers: user.headers,
        json: { post: a, body: `${tag} c` },
      });
      expect(commented.status).toBe(201);
      await t.request("/api/collections/bookmarks/records", {
        method: "POST",
        headers: user.headers,
        json: { post: a },
      });
      // `@D` marks where the slow twin carries a directive: it makes graphql-js run the query.
      const cases: [string, Record<string, unknown>, Record<string, string>?][] = [
        [
          `query($f: String!) { posts(filter: $f, sort: "title", limit: 1) @D { __typename items { __typename id title body status tags author created updated _etag } pageInfo { __typename hasNextPage endCursor } total } }`,
          { f: `title ~ '${tag}'` },
        ],
        [
          `query($f: String!, $id: ID!, $n: Int = 5) { __typename l: posts(filter: $f, limit: $n) @D { list: items { pid: id t: title } more: pageInfo { next: hasNextPage } } one: post(id: $id) { id title status _etag } gone: post(id: "pst_nope") { id } }`,
          { f: `title ~ '${tag}'`, id: a },
        ],
        [
          `query($f: String!) { comments(filter: $f) @D { items { id postId body author } } }`,
          { f: `body = '${tag} c'` },
        ],
        [`{ bookmarks @D { items { id postId user note } total } }`, {}, user.headers],
        [`query($id: ID!) { post(id: $id) @D { id title } }`, { id: a }, user.headers],
        [`{ posts(filter: "title ~") @D { items { id } } }`, {}],
        [`{ posts(limit: 100000) @D { items { id } } }`, {}],
        [`query($n: Int!) { posts(limit: $n) @D { items { id } } }`, { n: "x" }],
      ];
      const comparable = (x: GraphQLAnswer) =>
        JSON.stringify({
          status: x.status,
          data: x.data,
          errors: x.errors?.map(({ message, path, extensions }) => ({ message, path, extensions })),
        });
      for (const [query, variables, headers = {}] of cases) {
        const fast = await gql(t, query.replace("@D", ""), variables, { headers });
        const full = await gql(t, query.replace("@D", "@include(if: true)"), variables, {
          headers,
        });
        expect(comparable(fast), query).toBe(comparable(full));
        if (fast.errors === undefined)
          expect(fast.headers.get("server-timing"), query).toMatch(/graphql;[^,]*desc="fast"/);
        expect(full.headers.get("server-timing") ?? "", query).not.toMatch(/desc="fast"/);
      }
    });

    it("answers me for the caller and null for anonymous", async () => {
      const user = await t.signIn();
      const me = await gql(t, `{ me { id email role } }`, {}, { headers: user.headers });
      expect(me.data?.me).toEqual({ id: user.id, email: user.email, role: "user" });
      const anon = await gql(t, `{ me { id } }`);
      expect(anon.data?.me).toBeNull();
    });

    it("loads related records in batches: 20 comments with their posts cost what 2 do", async () => {
      const user = await t.signIn();
      const tag = unique("nq");
      const post = (await publishPost(t, user.headers, tag)).id;
      const other = (await publishPost(t, user.headers, `${tag} b`)).id;
      for (let i = 0; i < 20; i++) {
        const res = await t.request("/api/collections/comments/records", {
          method: "POST",
          headers: user.headers,
          json: { post: i % 2 === 0 ? post : other, body: `${tag} ${i}` },
        });
        expect(res.status).toBe(201);
      }
      const queries = async (limit: number) => {
        const requestId = unique("req");
        const answer = await gql(
          t,
          `query($f: String!, $n: Int!) { comments(filter: $f, limit: $n) { items { body post { title author } } } }`,
          { f: `body ~ '${tag}'`, n: limit },
          { headers: { "x-request-id": requestId } },
        );
        const items = field<{ items: { post: { title: string } }[] }>(answer, "comments").items;
        expect(items).toHaveLength(limit);
        expect(items.every((c) => c.post.title.startsWith(tag))).toBe(true);
        const line = (await t.logs()).find((l) => l.requestId === requestId && l.msg === "request");
        return line?.dbQueries;
      };
      const few = await queries(2);
      const many = await queries(20);
      expect(few).toBeGreaterThan(0);
      expect(many).toBe(few);
    });
  });

  describe("mutations", () => {
    it("creates, updates with ifMatch (a stale one fails like REST's 412) and deletes", async () => {
      const user = await t.signIn();
      const created = await gql(
        t,
        `mutation($d: PostCreateInput!) { createPost(data: $d) { id title author status _etag } }`,
        { d: { title: "via graphql", status: "published" } },
        { headers: user.headers },
      );
      expect(created.status, created.text).toBe(200);
      expect(created.headers.get("nearbase-consistency")).toBeTruthy();
      const post = created.data?.createPost as { id: string; _etag: string; author: string };
      expect(post.author).toBe(user.id);
      const rest = await t.request(`/api/collections/posts/records/${post.id}`);
      expect(rest.headers.get("etag")).toBe(post._etag);

      const update = `mutation($id: ID!, $d: PostUpdateInput!, $m: String) {
        updatePost(id: $id, data: $d, ifMatch: $m) { title _etag } }`;
      const ok = await gql(
        t,
        update,
        { id: post.id, d: { title: "v2" }, m: post._etag },
        { headers: user.headers },
      );
      expect(ok.data?.updatePost).toEqual({ title: "v2", _etag: `"${post.id}.2"` });
      const stale = await gql(
        t,
        update,
        { id: post.id, d: { title: "v3" }, m: post._etag },
        { headers: user.headers },
      );
      expect(codes(stale)).toEqual(["PRECONDITION_FAILED"]);
      expect(stale.errors?.[0]?.extensions?.etag).toBe(`"${post.id}.2"`);

      const other = await t.signIn();
      const refused = await gql(
        t,
        update,
        { id: post.id, d: { title: "x" } },
        { headers: other.headers },
      );
      expect(codes(refused)).toEqual(["FORBIDDEN"]);
      const anonymous = await gql(t, update, { id: post.id, d: { title: "x" } });
      expect(codes(anonymous)).toEqual(["UNAUTHENTICATED"]);

      const readonly = await gql(
        t,
        `mutation($id: ID!) { updatePost(id: $id, data: { author: "usr_x" }) { id } }`,
        { id: post.id },
        { headers: user.headers },
      );
      expect(readonly.status).toBe(400);
      expect(codes(readonly)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);

      const del = await gql(
        t,
        `mutation($id: ID!) { deletePost(id: $id) }`,
        { id: post.id },
        { headers: user.headers },
      );
      expect(del.data?.deletePost).toBe(post.id);
      expect((await t.request(`/api/collections/posts/records/${post.id}`)).status).toBe(404);
    });

    it("removes a deleted record's files at once, as REST's delete does", async () => {
      const user = await t.signIn();
      const form = new FormData();
      form.append("title", unique("att"));
      form.append("document", new Blob([new Uint8Array(64).fill(7)]), "a.bin");
      const up = await t.request("/api/collections/attachments/records", {
        method: "POST",
        headers: user.headers,
        body: form,
      });
      expect(up.status, await up.clone().text()).toBe(201);
      const { id } = (await up.json()) as { id: string };
      const del = await gql(
        t,
        `mutation($id: ID!) { deleteAttachment(id: $id) }`,
        { id },
        { headers: user.headers },
      );
      expect(del.data?.deleteAttachment).toBe(id);
      await t.settle();
      // The delete queued its file (a trigger); the sweep after the answer removed it.
      const queued = await t.sql("SELECT key FROM nb_file_deletions WHERE key LIKE ?", [
        `attachments/${id}/%`,
      ]);
      expect(queued).toEqual([]);
    });

    it("runs a batch on /api/batch's atomic path: all or nothing", async () => {
      const user = await t.signIn();
      const tag = unique("bt");
      const batch = `mutation($ops: [BatchOperation!]!) { batch(operations: $ops) { status record { ... on Post { id title } } } }`;
      const done = await gql(
        t,
        batch,
        { ops: [{ createPost: { title: `${tag} a` } }, { createPost: { title: `${tag} b` } }] },
        { headers: user.headers },
      );
      expect(done.status, done.text).toBe(200);
      const results = done.data?.batch as { status: number; record: { id: string } }[];
      expect(results.map((r) => r.status)).toEqual([201, 201]);

      const failed = await gql(
        t,
        batch,
        {
          ops: [{ createPost: { title: `${tag} c` } }, { deletePost: { id: "pst_doesnotexist" } }],
        },
        { headers: user.headers },
      );
      expect(codes(failed)).toEqual(["NOT_FOUND"]);
      // /api/batch's size limit holds here too: 51 writes are refused, none made.
      const huge = await gql(
        t,
        batch,
        { ops: Array.from({ length: 51 }, (_, i) => ({ createPost: { title: `${tag} h${i}` } })) },
        { headers: user.headers },
      );
      expect(codes(huge)).toEqual(["VALIDATION_FAILED"]);
      const rows = await t.sql("SELECT count(*) AS n FROM posts WHERE title LIKE ?", [`${tag}%`]);
      expect(Number(rows[0]?.n)).toBe(2);
    });

    it("needs POST for mutations and the write scope for API keys", async () => {
      const viaGet = await gql(t, `mutation { deletePost(id: "pst_x") }`, {}, { method: "GET" });
      expect(viaGet.status).toBe(405);
      expect(codes(viaGet)).toEqual(["METHOD_NOT_ALLOWED"]);

      // API keys in either header, as for REST: a read key queries by GET and cannot write.
      const user = await t.signIn();
      const key = async (scopes: string[]) => {
        const res = await createKey(t, user.accessToken, scopes);
        expect(res.status).toBe(201);
        return ((await res.json()) as { key: string }).key;
      };
      const readKey = { "x-api-key": await key(["read"]) };
      const writeKey = { authorization: `Bearer ${await key(["read", "write"])}` };
      const draft = await t.request("/api/collections/posts/records", {
        method: "POST",
        headers: user.headers,
        json: { title: unique("key"), status: "draft" },
      });
      const own = ((await draft.json()) as { id: string }).id;
      // The key reads as its owner: the owner's draft is visible to it, not to anyone else.
      const byKey = await gql(
        t,
        `query($id: ID!) { post(id: $id) { id } }`,
        { id: own },
        {
          method: "GET",
          headers: readKey,
        },
      );
      expect(byKey.data?.post).toEqual({ id: own });
      const anon = await gql(t, `query($id: ID!) { post(id: $id) { id } }`, { id: own });
      expect(anon.data?.post).toBeNull();
      // `me` is GET /api/auth/me's: an access token's account, not a key's.
      const me = await gql(t, `{ me { id } }`, {}, { method: "GET", headers: readKey });
      expect(codes(me)).toEqual(["UNAUTHENTICATED"]);
      const create = `mutation($d: PostCreateInput!) { createPost(data: $d) { id author } }`;
      const d = { title: unique("key"), status: "draft" };
      const refused = await t.request("/graphql", {
        method: "POST",
        headers: readKey,
        json: { query: create, variables: { d } },
      });
      expect(refused.status).toBe(403);
      expect((await t.sql("SELECT id FROM posts WHERE title = ?", [d.title])).length).toBe(0);
      const written = await gql(t, create, { d }, { headers: writeKey });
      expect(written.data?.createPost).toMatchObject({ author: user.id });
    });
  });

  describe("a real client (graphql-request)", () => {
    it("signs in, writes with ifMatch, reads back, and sees errors as ClientError", async () => {
      const user = await t.signIn();
      const client = new GraphQLClient("https://nearbase.test/graphql", {
        headers: user.headers,
        // The home's own transport (in-process in Node, the worker's fetch in workerd).
        fetch: ((input: RequestInfo | URL, init?: RequestInit) => {
          const url = new URL(input instanceof Request ? input.url : String(input));
          return t.request(`${url.pathname}${url.search}`, init);
        }) as typeof fetch,
      });
      const { me } = await client.request<{ me: { id: string } }>(graphql`{ me { id } }`);
      expect(me.id).toBe(user.id);
      const { createPost } = await client.request<{ createPost: { id: string; _etag: string } }>(
        graphql`mutation($d: PostCreateInput!) { createPost(data: $d) { id _etag } }`,
        { d: { title: unique("client"), status: "draft" } },
      );
      const { updatePost } = await client.request<{ updatePost: { status: string } }>(
        graphql`mutation($id: ID!, $m: String) { updatePost(id: $id, data: { status: published }, ifMatch: $m) { status } }`,
        { id: createPost.id, m: createPost._etag },
      );
      expect(updatePost.status).toBe("published");
      const { post } = await client.request<{ post: { status: string } | null }>(
        graphql`query($id: ID!) { post(id: $id) { status } }`,
        { id: createPost.id },
      );
      expect(post).toEqual({ status: "published" });
      const stale = await client
        .request(graphql`mutation($id: ID!, $m: String) { deletePost(id: $id, ifMatch: $m) }`, {
          id: createPost.id,
          m: createPost._etag,
        })
        .catch((err: unknown) => err);
      expect(stale).toBeInstanceOf(ClientError);
      expect((stale as ClientError).response.errors?.[0]?.extensions?.code).toBe(
        "PRECONDITION_FAILED",
      );
    });
  });

  describe("the edge", () => {
    it("caches a public GET query and drops it on a write, like REST", async () => {
      const user = await t.signIn();
      const tag = unique("ec");
      await publishPost(t, user.headers, tag);
      const query = `query($f: String!) { posts(filter: $f) { items { title } } }`;
      const get = () => gql(t, query, { f: `title ~ '${tag}'` }, { method: "GET" });
      const first = await get();
      expect(first.headers.get("x-cache")).toBe("MISS");
      expect(first.headers.get("cache-control")).toMatch(/public/);
      await t.settle();
      const second = await get();
      expect(second.headers.get("x-cache")).toBe("HIT");
      expect(second.data).toEqual(first.data);
      await gql(
        t,
        `mutation($d: PostCreateInput!) { createPost(data: $d) { id } }`,
        { d: { title: `${tag} 2`, status: "published" } },
        { headers: user.headers },
      );
      const third = await get();
      expect(third.headers.get("x-cache")).toBe("MISS");
      expect(field<{ items: unknown[] }>(third, "posts").items).toHaveLength(2);
      // One invalidation for both APIs: a REST write drops the GraphQL answer at once too.
      await t.settle();
      expect((await get()).headers.get("x-cache")).toBe("HIT");
      await publishPost(t, user.headers, `${tag} 3`);
      const fourth = await get();
      expect(fourth.headers.get("x-cache")).toBe("MISS");
      expect(field<{ items: unknown[] }>(fourth, "posts").items).toHaveLength(3);

      const mine = await gql(t, `{ me { id } }`, {}, { method: "GET", headers: user.headers });
      expect(mine.headers.get("cache-control")).toBe("private, no-store");
    });

    it("serves persisted queries by sha256, as cacheable GETs", async () => {
      const user = await t.signIn();
      const tag = unique("pq");
      await publishPost(t, user.headers, tag);
      const query = `{ posts(filter: "title = '${tag}'") { items { title } } }`;
      const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(query));
      const sha256Hash = [...new Uint8Array(digest)]
        .map((b) => b.toString(16).padStart(2, "0"))
        .join("");
      const extensions = { persistedQuery: { version: 1, sha256Hash } };
      const unknown = await gql(t, "", {}, { method: "GET", extensions });
      expect(codes(unknown)).toEqual(["PERSISTED_QUERY_NOT_FOUND"]);
      const wrong = await gql(t, `{ me { id } }`, {}, { extensions });
      expect(wrong.status).toBe(400);
      expect(codes(wrong)).toEqual(["PERSISTED_QUERY_HASH_MISMATCH"]);
      const stored = await gql(t, query, {}, { extensions });
      expect(stored.status, stored.text).toBe(200);
      const byHash = await gql(t, "", {}, { method: "GET", extensions });
      expect(byHash.status, byHash.text).toBe(200);
      expect(byHash.data).toEqual({ posts: { items: [{ title: tag }] } });
      expect(stored.data).toEqual(byHash.data);
      expect(byHash.headers.get("cache-control")).toMatch(/public/);
      // ...served from the edge cache next time, like any public GET.
      await t.settle();
      const again = await gql(t, "", {}, { method: "GET", extensions });
      expect(again.headers.get("x-cache")).toBe("HIT");
      expect(again.data).toEqual(byHash.data);
    });

    it("shows GraphiQL to a browser in development, without inline scripts", async () => {
      const res = await t.request("/graphql", { headers: { accept: "text/html" } });
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain("graphiql");
      expect(html).not.toMatch(/<script>(?!<\/script>)|<script(?![^>]*\bsrc=)[^>]*>/);
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp).toMatch(/script-src 'self' https:\/\/cdn\.jsdelivr\.net(;|$)/);
      const script = await t.request("/graphql/graphiql.js");
      expect(script.status).toBe(200);
      expect(script.headers.get("content-type")).toMatch(/javascript/);
    });
  });

  describe("introspection", () => {
    it("is on in development (PUBLIC_URL on localhost) and a setting in production", async () => {
      const on = await gql(t, `{ __schema { queryType { name } } }`);
      expect(on.data).toEqual({ __schema: { queryType: { name: "Query" } } });
      const production = await makeHome({
        env: { PUBLIC_URL: "https://api.example.com", GRAPHQL_INTROSPECTION: "off" },
      });
      try {
        for (const query of [
          `{ __schema { types { name } } }`,
          `{ __type(name: "Post") { name } }`,
        ]) {
          const off = await gql(production, query);
          expect(off.status).toBe(400);
          expect(codes(off)).toContain("INTROSPECTION_DISABLED");
        }
        const typename = await gql(production, `{ __typename }`);
        expect(typename.data).toEqual({ __typename: "Query" });
        const page = await production.request("/graphql", { headers: { accept: "text/html" } });
        expect(page.status).toBe(400);
        expect((await production.request("/graphql/graphiql.js")).status).toBe(404);
      } finally {
        await production.close();
      }
    });
  });

  describe("hostile documents get GraphQL errors with codes, never a 500", () => {
    const cases: [string, string, string][] = [
      ["malformed", "{ posts { items { id }", "GRAPHQL_PARSE_FAILED"],
      ["garbage", "\u0000\u0001 ]]]", "GRAPHQL_PARSE_FAILED"],
      ["unknown field", "{ posts { items { nope } } }", "GRAPHQL_VALIDATION_FAILED"],
      ["hidden field", "{ posts { items { moderationNote } } }", "GRAPHQL_VALIDATION_FAILED"],
      [
        "deep nesting",
        `{ comments { items { post { ${"a { ".repeat(20)}b${" }".repeat(20)} } } } }`,
        "GRAPHQL_VALIDATION_FAILED",
      ],
      [
        "alias bomb",
        `{ ${Array.from({ length: 40 }, (_, i) => `a${i}: posts(limit: 1) { items { id } }`).join(" ")} }`,
        "TOO_MANY_ALIASES",
      ],
      [
        "cost",
        `{ ${Array.from({ length: 12 }, (_, i) => `a${i}: comments(limit: 200) { items { id body postId post { id title body status author } } }`).join(" ")} }`,
        "QUERY_TOO_COMPLEX",
      ],
      ["long", `{ posts { items { id } } } # ${"x".repeat(30_000)}`, "QUERY_TOO_LONG"],
      ["token flood", `{ ${"a ".repeat(6000)} }`, "GRAPHQL_PARSE_FAILED"],
      [
        "introspection nesting",
        `{ __schema { types { fields { type { ${"ofType { ".repeat(14)} name ${"} ".repeat(14)} } } } } }`,
        "QUERY_TOO_DEEP",
      ],
      [
        "fragment bomb",
        `{ ...F0 } ${Array.from({ length: 40 }, (_, i) => `fragment F${i} on Query { ${i === 39 ? "posts { items { id } }" : `...F${i + 1} ...F${i + 1}`} }`).join(" ")}`,
        "",
      ],
      [
        "cycle",
        "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
        "GRAPHQL_VALIDATION_FAILED",
      ],
      ["subscription", "subscription { posts { items { id } } }", "BAD_REQUEST"],
      ["two operations", "query A { me { id } } query B { me { id } }", "OPERATION_NOT_FOUND"],
    ];
    it.each(cases)("%s", async (_name, query, code) => {
      const answer = await gql(t, query);
      if (code !== "") {
        expect(answer.status, answer.text).toBe(400);
        expect(codes(answer)).toContain(code);
      }
      expect(answer.text).not.toMatch(/SELECT |sqlite|\.ts:\d+/i);
    });

    it("refuses a body that is not a GraphQL request", async () => {
      for (const json of [{ query: 42 }, { query: "{ me { id } }", variables: [1] }, {}]) {
        const res = await t.request("/graphql", { method: "POST", json });
        expect(res.status).toBe(400);
        const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
        expect(body.errors[0]?.extensions.code).toBe("BAD_REQUEST");
      }
      const res = await t.request("/graphql", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{",
      });
      expect(res.status).toBe(400);
      const wrongVars = await gql(t, `query($n: Int!) { posts(limit: $n) { items { id } } }`, {
        n: "x",
      });
      expect(wrongVars.status).toBe(400);
      expect(codes(wrongVars)).toEqual(["BAD_USER_INPUT"]);
      expect((await t.request(`/graphql?variables=${q("[")}&query=${q("{me{id}}")}`)).status).toBe(
        400,
      );
    });
  });
}
