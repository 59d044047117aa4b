import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { EmbedderError } from "../../src/core/search/embedder";
import {
  defaultWorkersAiModel,
  workersAiDimensions,
  workersAiEmbedder,
} from "../../src/core/search/workers-ai";
import { embedTest } from "../search-embedder";
import type { Home, MakeHome, SignedIn } from "./home";

/**
 * A stand-in for the Workers AI binding (`env.AI`), written to its documented contract
 * (developers.cloudflare.com/workers-ai/models/bge-small-en-v1.5 and …/platform/errors): `run(model,
 * { text: string[] }, options)` answers `{ shape: [n, dims], data, pooling: "mean" }` for the bge
 * models, refuses more than 100 texts and unknown models with Workers AI's codes, and can be
 * told to fail like the service does (errors whose message starts with the code). Deterministic
 * vectors (embedTest), so search results can be checked against brute force. The real Workers
 * AI service is not reached by these tests: miniflare has no local Workers AI and this machine
 * no network to Cloudflare.
 */
export class StandInAi {
  readonly calls: { model: string; texts: string[]; signal: boolean }[] = [];
  /** Messages the next calls throw, in order (e.g. "3040: Out of capacity"). */
  failures: string[] = [];
  /** Answer vectors of this size instead of the model's. */
  dimensions?: number;
  /** Never answer (a hung call). */
  hang = false;

  async run(
    model: string,
    inputs: { text: string | string[] },
    options?: { signal?: AbortSignal },
  ): Promise<unknown> {
    const texts = typeof inputs.text === "string" ? [inputs.text] : inputs.text;
    this.calls.push({ model, texts: [...texts], signal: options?.signal instanceof AbortSignal });
    const failure = this.failures.shift();
    if (failure !== undefined) throw named("InferenceUpstreamError", failure);
    if (this.hang) return new Promise(() => {});
    const size = workersAiDimensions[model];
    if (size === undefined) throw named("AiError", `5007: No such model ${model} or task`);
    if (texts.length > 100)
      throw named("AiError", "5006: Error: must NOT have more than 100 items (/text)");
    const dims = this.dimensions ?? size;
    const data = texts.map((t) => embedTest(t, dims));
    return { shape: [data.length, dims], data, pooling: "mean" };
  }
}

function named(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

type Note = Record<string, unknown> & { id: string };
const noWait = async () => {};

/**
 * The Workers AI embedder in workerd: the adapter against the binding's contract, and wired as a
 * home's default embedder. Registered by the search suite when it runs in workerd, after its own
 * tests: a home with an embedder embeds every pending note of the shared database after each
 * write, so running beside the search suite would land its notes' embeddings in the wrong isolate.
 */
export function defineWorkersAiSuite(make: MakeHome) {
  describe("Workers AI embedder", () => {
    it("splits batches at 100 texts and keeps their order", async () => {
      const ai = new StandInAi();
      const embedder = workersAiEmbedder({ ai, model: defaultWorkersAiModel, sleep: noWait });
      const texts = Array.from({ length: 250 }, (_, i) => `note number ${i} about item${i}`);
      const vectors = await embedder.embed(texts, "document");
      expect(ai.calls.map((c) => c.texts.length)).toEqual([100, 100, 50]);
      expect(ai.calls.every((c) => c.model === defaultWorkersAiModel && c.signal)).toBe(true);
      expect(vectors.length).toBe(250);
      for (const [i, v] of vectors.entries()) expect(v).toEqual(embedTest(texts[i]!, 384));
      expect(await embedder.embed([], "query")).toEqual([]);
      expect(ai.calls.length).toBe(3);
    });

    it("retries capacity errors and fails at once on a refused request", async () => {
      const ai = new StandInAi();
      const embedder = workersAiEmbedder({ ai, model: defaultWorkersAiModel, sleep: noWait });
      ai.failures = ["3040: Out of capacity", "InferenceUpstreamError: 3007: Request timeout"];
      expect((await embedder.embed(["a b"], "query"))[0]).toEqual(embedTest("a b", 384));
      expect(ai.calls.length).toBe(3);

      // Still failing after the attempts: a transient error the job retries later.
      ai.calls.length = 0;
      ai.failures = ["3040: Out of capacity", "3040: Out of capacity", "3040: Out of capacity"];
      const down = await embedder.embed(["a"], "document").catch((e: unknown) => e);
      expect(down).toBeInstanceOf(EmbedderError);
      expect((down as EmbedderError).transient).toBe(true);
      expect((down as EmbedderError).message).toBe(
        "Workers AI failed (InferenceUpstreamError 3040)",
      );
      expect(ai.calls.length).toBe(3);

      // The daily allocation is spent: no point retrying within seconds.
      ai.calls.length = 0;
      ai.failures = ["3036: Account limited"];
      const spent = await embedder.embed(["a"], "document").catch((e: unknown) => e);
      expect((spent as EmbedderError).transient).toBe(true);
      expect(ai.calls.length).toBe(1);

      // An unknown model will not start working: one call, a permanent error.
      const wrong = workersAiEmbedder({ ai, model: "@cf/baai/bge-tiny", sleep: noWait });
      ai.calls.length = 0;
      const refused = await wrong.embed(["a"], "document").catch((e: unknown) => e);
      expect((refused as EmbedderError).transient).toBe(false);
      expect((refused as EmbedderError).message).toBe("Workers AI failed (AiError 5007)");
      expect(ai.calls.length).toBe(1);
    });

    it("checks every answer's size and gives up on a call that hangs", async () => {
      const ai = new StandInAi();
      ai.dimensions = 768;
      const embedder = workersAiEmbedder({ ai, model: defaultWorkersAiModel, sleep: noWait });
      await expect(embedder.embed(["a"], "document")).rejects.toThrow(
        "Workers AI answered 768 dimensions, @cf/baai/bge-small-en-v1.5 has 384",
      );
      ai.dimensions = undefined;
      ai.hang = true;
      const slow = workersAiEmbedder({
        ai,
        model: defaultWorkersAiModel,
        timeoutMs: 200,
        attempts: 2,
        sleep: noWait,
      });
      ai.calls.length = 0;
      const timedOut = await slow.embed(["a"], "query").catch((e: unknown) => e);
      expect((timedOut as EmbedderError).message).toBe("Workers AI did not answer within 200 ms");
      expect((timedOut as EmbedderError).transient).toBe(true);
      expect(ai.calls.length).toBe(2);
    });

    it("refuses to start with a Workers AI setting that cannot work", async () => {
      // Loaded here: this module is imported by the search suite in both homes.
      const { env } = await import("cloudflare:workers");
      const { createExecutionContext, waitOnExecutionContext } = await import("cloudflare:test");
      const worker = (await import("../../src/platform/workers/main")).default;
      const base = env as unknown as Record<string, unknown>;
      const ai = new StandInAi();
      expect(() => loadConfig({ ...base, EMBEDDINGS_WORKERS_AI: "AI" }, "workers")).toThrow(
        /EMBEDDINGS_WORKERS_AI names the binding AI, which this Worker does not have; add \[ai\] binding = "AI"/,
      );
      expect(() =>
        loadConfig({ ...base, AI: ai, EMBEDDINGS_WORKERS_AI: "AI" }, "workers"),
      ).not.toThrow();
      expect(() =>
        loadConfig(
          { ...base, AI: ai, EMBEDDINGS_WORKERS_AI: "AI", EMBEDDINGS_URL: "https://x.test/v1" },
          "workers",
        ),
      ).toThrow(/EMBEDDINGS_WORKERS_AI and EMBEDDINGS_URL both name the default embedder/);
      expect(() =>
        loadConfig(
          { ...base, AI: ai, EMBEDDINGS_WORKERS_AI: "AI", EMBEDDINGS_MODEL: "text-embedding-3" },
          "workers",
        ),
      ).toThrow(/EMBEDDINGS_MODEL must be a Workers AI model/);
      // The worker itself: every request says it is misconfigured (the log names the setting).
      const ctx = createExecutionContext();
      const res = await worker.fetch!(
        new Request("https://nearbase.test/health") as Request<
          unknown,
          IncomingRequestCfProperties
        >,
        { ...env, EMBEDDINGS_WORKERS_AI: "AI" } as Env,
        ctx,
      );
      await waitOnExecutionContext(ctx);
      expect(res.status).toBeGreaterThanOrEqual(500);
      expect(((await res.json()) as { code: string }).code).toBe("CONFIG_INVALID");
    });

    describe("wired as the default embedder", () => {
      const ai = new StandInAi();
      let home: Home;
      let alice: SignedIn;
      const tag = `zw${Math.random().toString(36).slice(2, 10)}`;
      beforeAll(async () => {
        home = await make({
          env: { AI: ai, EMBEDDINGS_WORKERS_AI: "AI" } as unknown as Record<string, string>,
        });
        alice = await home.signIn();
      });
      afterAll(() => home?.close());

      const create = async (body: Record<string, unknown>) => {
        const res = await home.request("/api/collections/notes/records", {
          method: "POST",
          headers: alice.headers,
          json: body,
        });
        expect(res.status, await res.clone().text()).toBe(201);
        return (await res.json()) as Note;
      };
      const statusOf = async (id: string) =>
        (await home.sql("SELECT embedding_status AS s FROM notes WHERE id = ?", [id]))[0]?.s;

      it("embeds records through the binding and searches with it", async () => {
        const notes: Note[] = [];
        const topics = ["harbor lantern", "maple meadow", "quartz orbit", "velvet willow"];
        for (const [i, topic] of topics.entries())
          notes.push(await create({ title: `${tag} ${topic}`, body: `entry ${i}` }));
        for (let i = 0; i < 60; i++) {
          await home.settle();
          const states = await Promise.all(notes.map((n) => statusOf(n.id)));
          if (states.every((s) => s === "ready")) break;
          await new Promise((r) => setTimeout(r, 250));
        }
        for (const n of notes) expect(await statusOf(n.id)).toBe("ready");
        // What was sent: the model, the records' source text (title, then body).
        const sent = ai.calls.flatMap((c) => c.texts);
        for (const n of notes) expect(sent).toContain(`${n.title}\n${n.body}`);
        expect(ai.calls.every((c) => c.model === defaultWorkersAiModel)).toBe(true);

        // The query is embedded by the binding too; the nearest is the note with its words.
        const filter = encodeURIComponent(`title ~ '${tag}'`);
        const res = await home.request(
          `/api/collections/notes/search?q=${encodeURIComponent(`${tag} quartz orbit`)}&mode=semantic&k=2&filter=${filter}`,
          { headers: alice.headers },
        );
        expect(res.status, await res.clone().text()).toBe(200);
        const found = (await res.json()) as { items: { record: Note; distance: number }[] };
        expect(found.items[0]!.record.id).toBe(notes[2]!.id);
        const q = embedTest(`${tag} quartz orbit`, 384);
        const expected = embedTest(`${notes[2]!.title}\n${notes[2]!.body}`, 384);
        expect(found.items[0]!.distance).toBeCloseTo(
          1 - q.reduce((s, x, i) => s + x * expected[i]!, 0),
          4,
        );
        expect(ai.calls.at(-1)!.texts).toEqual([`${tag} quartz orbit`]);
      });

      it("answers 503 to a semantic search while the binding fails", async () => {
        // (Failed record embeddings are counted and retried by the same code for every embedder:
        // the search suite's "retries failed embeddings" test.)
        ai.calls.length = 0;
        ai.failures = ["3040: Out of capacity", "3040: Out of capacity", "3040: Out of capacity"];
        const down = await home.request(
          `/api/collections/notes/search?q=${tag}+something+else&mode=semantic`,
          { headers: alice.headers },
        );
        expect(down.status).toBe(503);
        expect(down.headers.get("retry-after")).toBe("5");
        expect(((await down.json()) as { code: string }).code).toBe("UNAVAILABLE");
        expect(ai.calls.length).toBe(3);
        ai.failures = [];
      });
    });
  });
}
