import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { embedTest, failEmbedder, holdEmbedder } from "../search-embedder";
import type { Home, MakeHome, SignedIn } from "./home";
import { defineWorkersAiSuite } from "./search-workers-ai";

/** How the suite reaches the loopback embedder (its `/v1` base URL). */
export interface SuiteEmbedder {
  url: string;
}

type Note = Record<string, unknown> & { id: string };
type Found = { mode: string; items: { score: number; distance?: number; record: Note }[] };
/** A list item is the record; a search item holds it under `record`. */
const recordOf = (item: Note | { record: Note }): Note =>
  ((item as { record?: Note }).record ?? item) as Note;

const words =
  "river stone cloud ember maple harbor lantern meadow orbit pepper quartz saddle thistle velvet willow cobalt".split(
    " ",
  );

/**
 * Search: FTS5 through writes and batches, semantic results vs brute force, rules throughout;
 * in workerd, then the Workers AI embedder (test/conformance/search-workers-ai.ts).
 */
export function defineSearchSuite(make: MakeHome, embedder: SuiteEmbedder) {
  const runtime = (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent;
  if (runtime === "Cloudflare-Workers")
    describe("search, then Workers AI", () => {
      defineSearch(make, embedder);
      defineWorkersAiSuite(make);
    });
  else defineSearch(make, embedder);
}

function defineSearch(make: MakeHome, embedder: SuiteEmbedder) {
  describe("search", () => {
    let home: Home;
    let alice: SignedIn;
    let bob: SignedIn;
    // The Workers home shares one database across files: every record carries this word.
    const tag = `zq${Math.random().toString(36).slice(2, 10)}`;

    beforeAll(async () => {
      home = await make({ env: { EMBEDDINGS_URL: embedder.url, EMBEDDINGS_MODEL: "test" } });
      alice = await home.signIn();
      bob = await home.signIn();
    });
    afterAll(() => home?.close());

    const create = async (who: SignedIn, body: Record<string, unknown>) => {
      const res = await home.request("/api/collections/notes/records", {
        method: "POST",
        headers: who.headers,
        json: body,
      });
      expect(res.status, await res.clone().text()).toBe(201);
      return (await res.json()) as Note;
    };
    const listQ = async (who: SignedIn | undefined, q: string) => {
      const res = await home.request(
        `/api/collections/notes/records?q=${encodeURIComponent(q)}&filter=${encodeURIComponent(`title ~ '${tag}'`)}`,
        { headers: who?.headers ?? {} },
      );
      expect(res.status, await res.clone().text()).toBe(200);
      return ((await res.json()) as { items: Note[] }).items.map((n) => n.id);
    };
    const search = async (who: SignedIn | undefined, query: string) => {
      const res = await home.request(`/api/collections/notes/search?${query}`, {
        headers: who?.headers ?? {},
      });
      expect(res.status, await res.clone().text()).toBe(200);
      return (await res.json()) as Found;
    };
    /** The FTS5 index agrees with its content table (throws SQLITE_CORRUPT_VTAB otherwise). */
    const ftsIntact = () =>
      home.sql("INSERT INTO notes_fts (notes_fts, rank) VALUES ('integrity-check', 1)");
    const statusOf = async (id: string) =>
      (await home.sql("SELECT embedding_status AS s FROM notes WHERE id = ?", [id]))[0]?.s;
    const embedded = async (ids: string[]) => {
      for (let i = 0; i < 60; i++) {
        await home.settle();
        const left = [];
        for (const id of ids) if ((await statusOf(id)) !== "ready") left.push(id);
        if (left.length === 0) return;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error("embeddings did not become ready");
    };

    it("keeps full-text search in step through create, update, delete and /api/batch", async () => {
      const a = await create(alice, {
        title: `${tag} alpha report`,
        body: "quarterly numbers",
        public: true,
      });
      expect(await listQ(alice, "alpha quarterly")).toEqual([a.id]);
      expect(await listQ(alice, "ALPHÄ")).toEqual([a.id]); // case and diacritics folded
      expect(await listQ(alice, "quarter*")).toEqual([a.id]); // prefix
      expect(await listQ(alice, "alpha missingword")).toEqual([]); // every word required

      const patched = await home.request(`/api/collections/notes/records/${a.id}`, {
        method: "PATCH",
        headers: alice.headers,
        json: { title: `${tag} beta report` },
      });
      expect(patched.status).toBe(200);
      expect(await listQ(alice, "alpha")).toEqual([]);
      expect(await listQ(alice, "beta")).toEqual([a.id]);

      const batch = await home.request("/api/batch", {
        method: "POST",
        headers: alice.headers,
        json: {
          operations: [
            { method: "POST", collection: "notes", body: { title: `${tag} gamma`, public: true } },
            { method: "PATCH", collection: "notes", id: a.id, body: { body: "annual figures" } },
          ],
        },
      });
      expect(batch.status, await batch.clone().text()).toBe(200);
      const made = ((await batch.json()) as { results: { body: Note }[] }).results[0]!.body;
      expect(await listQ(alice, "gamma")).toEqual([made.id]);
      expect(await listQ(alice, "quarterly")).toEqual([]);
      expect(await listQ(alice, "annual")).toEqual([a.id]);

      const deleted = await home.request(`/api/collections/notes/records/${a.id}`, {
        method: "DELETE",
        headers: alice.headers,
      });
      expect(deleted.status).toBe(204);
      expect(await listQ(alice, "annual")).toEqual([]);
      await ftsIntact();
      const indexed = await home.sql(
        "SELECT count(*) AS n FROM notes_fts WHERE notes_fts MATCH ?",
        [tag],
      );
      expect(Number(indexed[0]!.n)).toBe(1);
    });

    it("never finds a record the list rule hides, in lists or in ranked keyword search", async () => {
      const secret = await create(bob, {
        title: `${tag} hidden treasure`,
        body: "map",
        public: false,
      });
      const open = await create(bob, { title: `${tag} open treasure`, body: "map", public: true });
      expect(await listQ(alice, "treasure")).toEqual([open.id]);
      expect(await listQ(undefined, "treasure")).toEqual([open.id]);
      expect((await listQ(bob, "treasure")).sort()).toEqual([secret.id, open.id].sort());
      const filter = encodeURIComponent(`title ~ '${tag}'`);
      for (const who of [alice, undefined]) {
        const found = await search(who, `q=treasure&mode=keyword&filter=${filter}`);
        expect(found.items.map((h) => h.record.id)).toEqual([open.id]);
        const both = await search(who, `q=hidden+treasure&mode=keyword&filter=${filter}`);
        expect(both.items).toEqual([]);
      }
      const own = await search(bob, `q=treasure+OR+hidden&mode=keyword&filter=${filter}`);
      // Every word is required (OR is a word here, not an operator).
      expect(own.items).toEqual([]);
      const mine = await search(bob, `q=treasure&mode=keyword&filter=${filter}`);
      expect(mine.items.map((h) => h.record.id).sort()).toEqual([secret.id, open.id].sort());
      // The vector never leaves the server; its status does.
      expect(mine.items[0]!.record).not.toHaveProperty("embedding");
      expect(mine.items[0]!.record).toHaveProperty("embeddingStatus");
    });

    it("finds the nearest neighbours a brute-force scan finds, under the list rule", async () => {
      const notes: Note[] = [];
      for (let i = 0; i < 30; i++) {
        const pick = Array.from(
          { length: 4 },
          (_, j) => words[(i * 7 + j * 5 + (i % 3)) % words.length],
        );
        notes.push(
          await create(alice, {
            title: `${tag} ${pick[0]} ${pick[1]}`,
            body: `${pick[2]} ${pick[3]}`,
            public: i % 4 !== 0,
          }),
        );
      }
      const query = "river stone cloud ember";
      // Bob's private note is the query itself: the nearest of all, never shown to Alice.
      const bobs = await create(bob, { title: query, body: tag, public: false });
      await embedded([...notes.map((n) => n.id), bobs.id]);

      const filter = encodeURIComponent(`title ~ '${tag}' || body ~ '${tag}'`);
      const found = await search(
        alice,
        `q=${encodeURIComponent(query)}&mode=semantic&k=10&filter=${filter}`,
      );
      expect(found.mode).toBe("semantic");
      const ids = found.items.map((h) => h.record.id);
      expect(ids).not.toContain(bobs.id);
      // Brute force over the same vectors: every note Alice may list (all of hers).
      const q = embedTest(query);
      const cos = (v: number[]) => 1 - v.reduce((s, x, i) => s + x * q[i]!, 0);
      const expected = notes
        .map((n) => ({ id: n.id, d: cos(embedTest(`${n.title}\n${n.body}`)) }))
        .sort((x, y) => x.d - y.d)
        .slice(0, 10);
      const distances = found.items.map((h) => h.distance!);
      expect(distances.length).toBe(10);
      for (const [i, d] of distances.entries()) expect(d).toBeCloseTo(expected[i]!.d, 4);
      for (const hit of found.items) {
        const n = notes.find((x) => x.id === hit.record.id)!;
        expect(hit.distance!).toBeCloseTo(cos(embedTest(`${n.title}\n${n.body}`)), 4);
      }
      // Bob finds his own note first; a stranger only public ones.
      const his = await search(
        bob,
        `q=${encodeURIComponent(query)}&mode=semantic&k=3&filter=${filter}`,
      );
      expect(his.items[0]!.record.id).toBe(bobs.id);
      const stranger = await search(
        undefined,
        `q=${encodeURIComponent(query)}&mode=semantic&k=30&filter=${filter}`,
      );
      expect(stranger.items.every((h) => h.record.public === true)).toBe(true);
      const strangerIds = stranger.items.map((h) => h.record.id);
      for (const n of notes) expect(strangerIds.includes(n.id)).toBe(n.public === true);

      // near: similar to one of Alice's notes, itself excluded; hybrid fuses both rankings.
      const near = await search(alice, `near=${notes[1]!.id}&k=5&filter=${filter}`);
      expect(near.items.map((h) => h.record.id)).not.toContain(notes[1]!.id);
      expect(near.items.length).toBe(5);
      const hybrid = await search(alice, `q=${encodeURIComponent(query)}&k=5&filter=${filter}`);
      expect(hybrid.mode).toBe("hybrid");
      expect(hybrid.items.map((h) => h.record.id)).not.toContain(bobs.id);
      expect(hybrid.items.length).toBe(5);
    }, 120_000);

    it("builds the vector index with the settings the collection declares", async () => {
      const [index] = await home.sql(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'notes_embedding_idx'",
      );
      // Imported here: at the top, the collections would load before the worker's main module.
      const { notesCollection } = await import("../../src/collections/notes");
      const { searchMigrationSql } = await import("../../src/core/search/sql");
      const declared = searchMigrationSql([notesCollection]).find((s) =>
        s.includes("libsql_vector_idx"),
      );
      expect(`${index!.sql};`).toBe(declared);
      expect(declared).toContain("'compress_neighbors=float1bit'");
      // libSQL stores what it will use: compress_neighbors (tag 11) = float1bit (vector type 3).
      const [meta] = await home.sql(
        "SELECT hex(metadata) AS m FROM libsql_vector_meta_shadow WHERE name = 'notes_embedding_idx'",
      );
      const params = new Map<number, string>();
      const hex = String(meta!.m);
      for (let i = 0; i + 18 <= hex.length; i += 18)
        params.set(Number.parseInt(hex.slice(i, i + 2), 16), hex.slice(i + 2, i + 18));
      expect(params.get(11)).toBe("0300000000000000");
    });

    it("refuses bad search input with 4xx problems, never 500", async () => {
      const cases: [string, number, string][] = [
        ["/api/collections/notes/records?q=%21%21%21", 400, "INVALID_QUERY"],
        ["/api/collections/posts/records?q=hello", 400, "INVALID_QUERY"],
        ["/api/collections/notes/search?q=%22unbalanced+NEAR(", 200, ""],
        ["/api/collections/notes/search?q=x&k=0", 400, "INVALID_QUERY"],
        ["/api/collections/notes/search?q=x&mode=magic", 400, "INVALID_QUERY"],
        ["/api/collections/notes/search", 400, "INVALID_QUERY"],
        ["/api/collections/notes/search?q=x&near=nte_x", 400, "INVALID_QUERY"],
        ["/api/collections/notes/search?near=nte_0000000000000000", 404, "NOT_FOUND"],
        ["/api/collections/notes/search?q=x&filter=embedding%3D1", 400, "INVALID_FILTER"],
        ["/api/collections/posts/search?q=x", 404, "NOT_FOUND"],
        ["/api/collections/notes/search?q=x&page=2", 400, "INVALID_QUERY"],
      ];
      for (const [path, status, code] of cases) {
        const res = await home.request(path, { headers: alice.headers });
        expect(res.status, `${path}: ${await res.clone().text()}`).toBe(status);
        if (code !== "") expect(((await res.json()) as { code: string }).code, path).toBe(code);
      }
    });

    it("retries failed embeddings and shows their status", async () => {
      await failEmbedder(embedder.url, 1000);
      const note = await create(alice, { title: `${tag} flaky`, body: "embedder down" });
      await home.settle();
      expect(await statusOf(note.id)).toBe("pending");
      const failure = await home.sql(
        "SELECT attempts, last_error AS e FROM nb_embedding_failures WHERE collection = 'notes' AND record_id = ?",
        [note.id],
      );
      expect(Number(failure[0]!.attempts)).toBeGreaterThanOrEqual(1);
      expect(failure[0]!.e).toBe("embedder answered 503");
      // The record shows it; semantic search answers 503 while the embedder is down.
      const seen = await home.request(`/api/collections/notes/records/${note.id}`, {
        headers: alice.headers,
      });
      expect(((await seen.json()) as Note).embeddingStatus).toBe("pending");
      const down = await home.request(
        "/api/collections/notes/search?q=anything+new&mode=semantic",
        { headers: alice.headers },
      );
      expect(down.status).toBe(503);
      await failEmbedder(embedder.url, 0);
      await home.sql("UPDATE nb_embedding_failures SET next_at = 0 WHERE record_id = ?", [note.id]);
      // The next write's kick picks it up (the scheduled job would too).
      await create(alice, { title: `${tag} kick`, body: "" });
      await embedded([note.id]);
      expect(
        await home.sql("SELECT 1 FROM nb_embedding_failures WHERE record_id = ?", [note.id]),
      ).toEqual([]);
    });

    it("without an embedder keeps records pending, counts no attempts and says so", async () => {
      const bare = await make({});
      try {
        const carol = await bare.signIn();
        const res = await bare.request("/api/collections/notes/records", {
          method: "POST",
          headers: carol.headers,
          json: { title: `${tag} unembedded lighthouse`, public: false },
        });
        expect(res.status).toBe(201);
        const note = (await res.json()) as Note;
        await bare.settle();
        const [row] = await bare.sql("SELECT embedding_status AS s FROM notes WHERE id = ?", [
          note.id,
        ]);
        expect(row!.s).toBe("pending");
        expect(
          await bare.sql("SELECT 1 FROM nb_embedding_failures WHERE record_id = ?", [note.id]),
        ).toEqual([]);
        const semantic = await bare.request(
          `/api/collections/notes/search?q=lighthouse&mode=semantic`,
          { headers: carol.headers },
        );
        expect(semantic.status).toBe(501);
        expect(((await semantic.json()) as { code: string }).code).toBe("NOT_IMPLEMENTED");
        const keyword = await bare.request(
          `/api/collections/notes/search?q=${tag}+lighthouse&mode=keyword`,
          { headers: carol.headers },
        );
        expect(keyword.status).toBe(200);
        expect(((await keyword.json()) as Found).items.map((h) => h.record.id)).toEqual([note.id]);
      } finally {
        await bare.close();
      }
    });

    it("shares public search answers at the edge and moves them when an embedding lands", async () => {
      // A long version memo: only this isolate learning the embedding's version can make the
      // next read fresh (waiting out the memo cannot).
      const edge = await make({
        env: {
          EMBEDDINGS_URL: embedder.url,
          EMBEDDINGS_MODEL: "test",
          CACHE_VERSION_MEMO_MS: "60000",
        },
      });
      try {
        const dana = await edge.signIn();
        const word = `lh${tag.slice(2)}`;
        await holdEmbedder(embedder.url, true);
        let note: Note;
        try {
          const res = await edge.request("/api/collections/notes/records", {
            method: "POST",
            headers: dana.headers,
            json: { title: `${tag} ${word} beacon`, public: true },
          });
          expect(res.status).toBe(201);
          note = (await res.json()) as Note;
          const paths = [
            `/api/collections/notes/search?q=${word}&mode=keyword`,
            `/api/collections/notes/records?filter=${encodeURIComponent(`title ~ '${word}'`)}`,
          ];
          for (const path of paths) {
            const first = await edge.request(path);
            expect(first.status, await first.clone().text()).toBe(200);
            expect(first.headers.get("x-cache"), path).toBe("MISS");
            expect(first.headers.get("cache-control"), path).toMatch(/public/);
            // The fill is deferred work, and settle() would wait for the held embedding too.
            let again = await edge.request(path);
            for (let i = 0; i < 20 && again.headers.get("x-cache") !== "HIT"; i++) {
              await new Promise((r) => setTimeout(r, 100));
              again = await edge.request(path);
            }
            expect(again.headers.get("x-cache"), path).toBe("HIT");
            const body = (await again.json()) as { items: (Note | { record: Note })[] };
            const item = body.items[0]!;
            const shown = recordOf(item);
            expect(shown.id).toBe(note.id);
            expect(shown.embeddingStatus).toBe("pending");
          }
          // A signed-in caller's answer reads @request.auth: never shared, never public.
          const own = await edge.request(paths[0]!, { headers: dana.headers });
          expect(own.headers.get("cache-control")).not.toMatch(/public/);
          expect(own.headers.get("x-cache")).not.toBe("HIT");
        } finally {
          await holdEmbedder(embedder.url, false);
        }
        await edge.settle();
        const [row] = await edge.sql("SELECT embedding_status AS s FROM notes WHERE id = ?", [
          note.id,
        ]);
        expect(row!.s).toBe("ready");
        for (const path of [
          `/api/collections/notes/search?q=${word}&mode=keyword`,
          `/api/collections/notes/records?filter=${encodeURIComponent(`title ~ '${word}'`)}`,
        ]) {
          const after = await edge.request(path);
          expect(after.headers.get("x-cache"), path).toBe("MISS");
          const body = (await after.json()) as { items: (Note | { record: Note })[] };
          const item = body.items[0]!;
          expect(recordOf(item).embeddingStatus, path).toBe("ready");
        }
      } finally {
        await edge.close();
      }
    });
  });
}
