import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codes, field, gql } from "./graphql.suite";
import type { Home, MakeHome, SignedIn } from "./home";
import type { SuiteEmbedder } from "./search.suite";

type Note = Record<string, unknown> & { id: string };
type Hit = { score: number; distance?: number | null; record: Note };
type Found = { mode: string; items: Hit[] };

const hitsQuery = `query($q: String, $near: ID, $k: Int, $f: String, $mode: SearchMode) {
  notesSearch(q: $q, near: $near, k: $k, filter: $f, mode: $mode) {
    mode
    items { score distance record { id title public embeddingStatus } }
  }
}`;

/**
 * GraphQL's `notesSearch` in both homes: the REST search endpoint's service behind another
 * door, so the same arguments find the same hits with the same scores, under the same list
 * rule; the vector never exists in the schema; bad arguments are GraphQL errors with REST's
 * codes, never a 500.
 */
export function defineGraphQLSearchSuite(make: MakeHome, embedder: SuiteEmbedder) {
  describe("GraphQL search", () => {
    let home: Home;
    let alice: SignedIn;
    let bob: SignedIn;
    // The Workers home shares one database across files: every record carries this word.
    const tag = `gs${Math.random().toString(36).slice(2, 10)}`;
    const filter = `title ~ '${tag}'`;
    const notes: Record<string, Note> = {};

    const create = async (who: SignedIn, body: Record<string, unknown>) => {
      const res = await home.request("/api/collections/notes/records", {
        method: "POST",
        headers: who.headers,
        json: body,
      });
      expect(res.status, await res.clone().text()).toBe(201);
      return (await res.json()) as Note;
    };
    const statusOf = async (id: string) =>
      (await home.sql("SELECT embedding_status AS s FROM notes WHERE id = ?", [id]))[0]?.s;

    beforeAll(async () => {
      home = await make({ env: { EMBEDDINGS_URL: embedder.url, EMBEDDINGS_MODEL: "test" } });
      alice = await home.signIn();
      bob = await home.signIn();
      notes.harbor = await create(alice, {
        title: `${tag} harbor lantern`,
        body: "a light by the water",
        public: true,
      });
      notes.meadow = await create(alice, {
        title: `${tag} meadow lantern`,
        body: "a light in the grass",
        public: true,
      });
      notes.orbit = await create(bob, { title: `${tag} orbit`, body: "cobalt sky", public: true });
      // Bob's private note is the query itself: the nearest of all, never shown to others.
      notes.secret = await create(bob, {
        title: `${tag} harbor lantern light`,
        body: "water",
        public: false,
      });
      const ids = Object.values(notes).map((n) => n.id);
      for (let i = 0; i < 60; i++) {
        await home.settle();
        const left = [];
        for (const id of ids) if ((await statusOf(id)) !== "ready") left.push(id);
        if (left.length === 0) return;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error("embeddings did not become ready");
    }, 120_000);
    afterAll(() => home?.close());

    const rest = async (who: SignedIn | undefined, params: Record<string, string>) => {
      const res = await home.request(
        `/api/collections/notes/search?${new URLSearchParams(params)}`,
        { headers: who?.headers ?? {} },
      );
      expect(res.status, await res.clone().text()).toBe(200);
      return (await res.json()) as Found;
    };
    const viaGraphQL = async (
      who: SignedIn | undefined,
      variables: Record<string, unknown>,
      method: "GET" | "POST" = "POST",
    ) => {
      const answer = await gql(home, hitsQuery, variables, { headers: who?.headers, method });
      expect(answer.errors, answer.text).toBeUndefined();
      return field<Found>(answer, "notesSearch");
    };

    it("finds what REST's search finds, with the same scores, under the list rule", async () => {
      const q = "harbor lantern light";
      for (const who of [alice, bob, undefined]) {
        for (const mode of ["keyword", "semantic", "hybrid"]) {
          const fromRest = await rest(who, { q, mode, k: "10", filter });
          const found = await viaGraphQL(who, { q, mode, k: 10, f: filter });
          expect(found.mode).toBe(mode);
          expect(found.items.map((h) => [h.record.id, h.score, h.distance ?? undefined])).toEqual(
            fromRest.items.map((h) => [h.record.id, h.score, h.distance]),
          );
          const ids = found.items.map((h) => h.record.id);
          // Only Bob, its owner, finds the private note, though it is the nearest to the query.
          expect(ids.includes(notes.secret!.id), `${mode}`).toBe(who === bob);
          if (mode === "semantic")
            expect(ids[0]).toBe(who === bob ? notes.secret!.id : notes.harbor!.id);
          for (const hit of found.items)
            expect(hit.record.public === true || who === bob, hit.record.id).toBe(true);
        }
      }
      // near: similar records, the record itself left out; the default mode is semantic.
      const near = await viaGraphQL(alice, { near: notes.harbor!.id, k: 5, f: filter });
      const nearRest = await rest(alice, { near: notes.harbor!.id, k: "5", filter });
      expect(near.mode).toBe("semantic");
      expect(near.items.map((h) => h.record.id)).toEqual(nearRest.items.map((h) => h.record.id));
      expect(near.items.map((h) => h.record.id)).not.toContain(notes.harbor!.id);
      expect(near.items.map((h) => h.record.id)).not.toContain(notes.secret!.id);
      // Asked by GET, the same answer.
      const byGet = await viaGraphQL(undefined, { q, mode: "keyword", f: filter }, "GET");
      expect(byGet.items.map((h) => h.record.id)).toEqual(
        (await rest(undefined, { q, mode: "keyword", filter })).items.map((h) => h.record.id),
      );
    });

    it("shares an anonymous search asked by GET at the edge, as REST's; a signed-in one never", async () => {
      const query = `query($f: String) { notesSearch(q: "harbor", mode: keyword, filter: $f) { items { record { id } } } }`;
      const first = await gql(home, query, { f: filter }, { method: "GET" });
      expect(first.headers.get("cache-control"), first.text).toMatch(/public/);
      let again = await gql(home, query, { f: filter }, { method: "GET" });
      for (let i = 0; i < 20 && again.headers.get("x-cache") !== "HIT"; i++) {
        await new Promise((r) => setTimeout(r, 100));
        again = await gql(home, query, { f: filter }, { method: "GET" });
      }
      expect(again.headers.get("x-cache")).toBe("HIT");
      expect(again.data).toEqual(first.data);
      // The list rule reads @request.auth: a caller's answer is theirs alone.
      const own = await gql(home, query, { f: filter }, { method: "GET", headers: bob.headers });
      expect(own.headers.get("cache-control")).not.toMatch(/public/);
      expect(own.headers.get("x-cache")).not.toBe("HIT");
    });

    it("has no hidden field: the vector is not in the schema, and only selected fields are read", async () => {
      const asked = await gql(
        home,
        `{ notesSearch(q: "harbor") { items { record { id embedding } } } }`,
        {},
        { headers: alice.headers },
      );
      expect(asked.status).toBe(400);
      expect(codes(asked)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
      const types = await gql(
        home,
        `{ note: __type(name: "Note") { fields { name } } hit: __type(name: "NoteSearchHit") { fields { name } } }`,
      );
      const names = (key: string) =>
        field<{ fields: { name: string }[] }>(types, key).fields.map((f) => f.name);
      expect(names("note")).toContain("embeddingStatus");
      expect(names("note")).not.toContain("embedding");
      expect(names("hit").sort()).toEqual(["distance", "record", "score"]);
      // A record holds what the selection asks for (REST's `fields`), nothing else.
      const slim = await gql(
        home,
        `query($f: String) { notesSearch(q: "harbor", mode: keyword, filter: $f) { items { record { id } } } }`,
        { f: filter },
        { headers: alice.headers },
      );
      const records = field<Found>(slim, "notesSearch").items.map((h) => h.record);
      expect(records.length).toBeGreaterThan(0);
      for (const record of records) expect(Object.keys(record)).toEqual(["id"]);
    });

    it("answers bad arguments with GraphQL errors carrying REST's codes, never a 500", async () => {
      // [arguments, HTTP status, extensions.code]: execution errors come with 200 and data null.
      const cases: [string, number, string][] = [
        [`q: "x", k: 0`, 200, "INVALID_QUERY"],
        [`q: "x", k: 101`, 200, "INVALID_QUERY"],
        [`q: "  "`, 200, "INVALID_QUERY"],
        [`q: "x", near: "nte_0000000000000000"`, 200, "INVALID_QUERY"],
        [`near: "not an id"`, 200, "INVALID_QUERY"],
        [`near: "nte_0000000000000000"`, 200, "NOT_FOUND"],
        [`near: "${notes.harbor?.id}", mode: keyword`, 200, "INVALID_QUERY"],
        [`q: "x", filter: "embedding = 1"`, 200, "INVALID_FILTER"],
        [`q: "x", filter: "title ="`, 200, "INVALID_FILTER"],
        [`q: "x", mode: magic`, 400, "GRAPHQL_VALIDATION_FAILED"],
        [`q: "x", k: "ten"`, 400, "GRAPHQL_VALIDATION_FAILED"],
      ];
      for (const [args, status, code] of cases) {
        const answer = await gql(
          home,
          `{ notesSearch(${args}) { mode items { score } } }`,
          {},
          { headers: alice.headers },
        );
        expect(answer.status, `${args}: ${answer.text}`).toBe(status);
        expect(codes(answer), args).toEqual([code]);
        if (status === 200) {
          expect(answer.data, args).toBeNull();
          expect(answer.errors?.[0]?.path, args).toEqual(["notesSearch"]);
        }
      }
      // Only collections that declare search or vector get a search query.
      const posts = await gql(home, `{ postsSearch(q: "x") { mode } }`);
      expect(posts.status).toBe(400);
      expect(codes(posts)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
      // k weighs the selection like a list's limit.
      const aliases = Array.from(
        { length: 25 },
        (_, i) =>
          `s${i}: notesSearch(q: "x", k: 100) { items { score distance record { id title body public created updated } } }`,
      );
      const heavy = await gql(home, `{ ${aliases.join(" ")} }`);
      expect(heavy.status).toBe(400);
      expect(codes(heavy)).toEqual(["QUERY_TOO_COMPLEX"]);
    });

    it("without an embedder, semantic search is a NOT_IMPLEMENTED error (not a 500) and keyword still answers", async () => {
      const bare = await make({});
      try {
        const carol = await bare.signIn();
        const res = await bare.request("/api/collections/notes/records", {
          method: "POST",
          headers: carol.headers,
          json: { title: `${tag} unembedded beacon`, public: false },
        });
        expect(res.status).toBe(201);
        const note = (await res.json()) as Note;
        const semantic = await gql(
          bare,
          `{ notesSearch(q: "beacon", mode: semantic) { mode } }`,
          {},
          { headers: carol.headers },
        );
        expect(semantic.status, semantic.text).toBe(200);
        expect(codes(semantic)).toEqual(["NOT_IMPLEMENTED"]);
        const keyword = await gql(
          bare,
          `query($q: String) { notesSearch(q: $q, mode: keyword) { mode items { record { id embeddingStatus } } } }`,
          { q: `${tag} beacon` },
          { headers: carol.headers },
        );
        expect(field<Found>(keyword, "notesSearch").items.map((h) => h.record)).toEqual([
          { id: note.id, embeddingStatus: "pending" },
        ]);
      } finally {
        await bare.close();
      }
    });
  });
}
