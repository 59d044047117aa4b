/**
 * `npm run bench:search [-- --sizes 10000,100000 --queries 200 --recall-queries 100]`: search
 * latency and vector-index quality on the Node home's database (README "Search").
 *
 * For each size: a fresh embedded libSQL file opened and migrated as the Node home opens it
 * (WAL, read connections off the event loop), `notes` seeded straight into the table with
 * deterministic 384-dimension vectors (clustered, as real embeddings are: 200 centroids plus
 * noise; no embedder involved) and text from a fixed vocabulary (FTS5 is kept by the triggers),
 * 90% public. Then, as an anonymous caller through the search service (the engine the route
 * calls; no HTTP, no cache): keyword, semantic and hybrid latency p50/p99 over distinct queries
 * (the query embedder is in-process and returns a vector near a centroid, so only search is
 * timed); recall@10 of the vector index (`vector_top_k`, k = 10) and of the semantic answer
 * (the service asks the index for 100 candidates, re-ranks exactly, applies the list rule)
 * against brute force (exact distance over every row); and the vector index's size on disk
 * (dbstat) beside the table's and the file's. Writes bench/results/search-<date>.md (or --out).
 *
 * The 100k numbers of README "Search" (tens of minutes on a loaded 2-core machine; the seed
 * prints its rate and an estimate as it goes):
 *   npm run bench:search -- --sizes 100000 --search-l 100,200,400,800 --db /tmp/search-100k.db
 * `--db` keeps the seeded file, so a rerun with other --search-l values skips the seed;
 * `--index "compress_neighbors=float8;max_neighbors=32"` builds the index with other options
 * instead of the migration's.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type Client, createClient } from "@libsql/client";
import { collections } from "../src/collections/index";
import { anonymous } from "../src/core/kernel/principal";
import { buildModels } from "../src/core/records/model";
import type { Embedder } from "../src/core/search/embedder";
import { createSearchService } from "../src/core/search/service";
import { openNodeDatabase } from "../src/platform/node/database";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "10000,100000" },
    queries: { type: "string", default: "200" },
    "recall-queries": { type: "string", default: "100" },
    out: { type: "string" },
    /** libsql_vector_idx options instead of the migration's, `;`-separated (e.g. compress_neighbors=float8;max_neighbors=20). */
    index: { type: "string" },
    /**
     * search_l values to measure on the same graph, `,`-separated (e.g. 200,400). libSQL uses
     * search_l only when querying (inserts use insert_l), so the bench rewrites the parameter
     * stored in libsql_vector_meta_shadow between measurements instead of rebuilding the index.
     */
    "search-l": { type: "string" },
    /** Keep the database file here (one size only); if it already holds the rows, seeding is skipped. */
    db: { type: "string" },
    /** The vectors: clustered (default; a worst case) or lowrank (closer to real embeddings). */
    data: { type: "string", default: "clustered" },
  },
});
const sizes = values.sizes.split(",").map(Number);
if (values.data !== "clustered" && values.data !== "lowrank")
  throw new Error("--data is clustered or lowrank");
const searchLs = values["search-l"]?.split(",").map(Number) ?? [undefined];
if (values.db !== undefined && sizes.length !== 1) throw new Error("--db takes one size");
const queryCount = Number(values.queries);
const recallCount = Number(values["recall-queries"]);
const dims = 384;
const centroids = 200;

/** mulberry32: a small deterministic PRNG. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const gauss = (r: () => number) =>
  Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
const unit = (v: number[]) => {
  const n = Math.hypot(...v) || 1;
  return v.map((x) => x / n);
};
const centroidVectors = (() => {
  const r = rng(7);
  return Array.from({ length: centroids }, () =>
    unit(Array.from({ length: dims }, () => gauss(r))),
  );
})();
/** A vector near centroid `c`: the centroid plus noise of the given spread, normalised. */
function near(r: () => number, c: number, spread: number): number[] {
  const base = centroidVectors[c]!;
  return unit(base.map((x) => x + spread * gauss(r)));
}
/**
 * `--data lowrank`: vectors from a 32-dimension latent space (200 clusters, within-cluster
 * spread 0.5 of the centroids' scale) projected to 384 dimensions, plus small noise — neighbours
 * are much nearer than strangers, as with real sentence embeddings. `clustered` (the default, as
 * in the first runs): 384-dimension centroids plus noise larger than the centroid itself in
 * every direction, so the points of a cluster are nearly equidistant: a worst case for a graph
 * index (nothing to route by).
 */
const latentDims = 32;
const projection = (() => {
  const r = rng(11);
  return Array.from({ length: dims }, () =>
    Array.from({ length: latentDims }, () => gauss(r) / Math.sqrt(latentDims)),
  );
})();
const latentCentroids = (() => {
  const r = rng(13);
  return Array.from({ length: centroids }, () =>
    Array.from({ length: latentDims }, () => gauss(r)),
  );
})();
function point(r: () => number, c = Math.floor(r() * centroids)): number[] {
  if (values.data !== "lowrank") return near(r, c, 0.08);
  const z = latentCentroids[c]!.map((x) => x + 0.5 * gauss(r));
  return unit(projection.map((row) => row.reduce((s, w, j) => s + w * z[j]!, 0) + 0.05 * gauss(r)));
}
const vec = (v: number[]) => JSON.stringify(v.map((x) => Math.fround(x)));

const vocabulary = Array.from({ length: 2000 }, (_, i) => `w${i.toString(36)}`);
/** Zipf-like pick: common words are common, as in text. */
const word = (r: () => number) => vocabulary[Math.floor(vocabulary.length * r() ** 3)]!;

const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const ms = (x: number) => x.toFixed(2);

interface SizeResult {
  rows: number;
  index: string;
  /** The search_l the queries ran with (undefined: the index's own). */
  searchL?: number;
  seedSeconds: number;
  latency: Record<string, { p50: number; p99: number; mean: number }>;
  recallIndex?: number;
  recallAnswer?: number;
  bruteForceMs?: number;
  fileBytes: number;
  tableBytes?: number;
  indexBytes?: number;
  ftsBytes?: number;
}

/**
 * Rewrites search_l in the index's stored parameters (libsql_vector_meta_shadow.metadata: 9-byte
 * records, a tag then a little-endian u64; tag 9 is search_l). Returns the value now stored.
 */
async function setSearchL(client: Client, searchL: number | undefined): Promise<number> {
  const rs = await client.execute(
    "SELECT metadata FROM libsql_vector_meta_shadow WHERE name = 'notes_embedding_idx'",
  );
  const meta = Buffer.from(rs.rows[0]!.metadata as ArrayBuffer);
  let at = -1;
  for (let i = 0; i + 9 <= meta.length; i += 9) if (meta[i] === 9) at = i;
  if (at < 0) throw new Error("search_l not found in the index's parameters");
  if (searchL !== undefined) {
    meta.writeBigUInt64LE(BigInt(searchL), at + 1);
    await client.execute({
      sql: "UPDATE libsql_vector_meta_shadow SET metadata = ? WHERE name = 'notes_embedding_idx'",
      args: [meta],
    });
  }
  return Number(meta.readBigUInt64LE(at + 1));
}

async function runSize(rows: number): Promise<SizeResult[]> {
  const dir = values.db === undefined ? mkdtempSync(join(tmpdir(), "nb-bench-search-")) : undefined;
  const path = dir === undefined ? values.db! : join(dir, "bench.db");
  const url = `file:${path}`;
  const db = await openNodeDatabase({ url, readBudgetMs: 60_000 });
  const existing = Number(
    (await db.client.execute("SELECT count(*) AS n FROM notes")).rows[0]?.n ?? 0,
  );
  const reuse = existing === rows;
  if (existing !== 0 && !reuse) throw new Error(`${path} holds ${existing} notes, not ${rows}`);
  const migrated = await db.client.execute(
    "SELECT sql FROM sqlite_master WHERE name = 'notes_embedding_idx'",
  );
  let index = /libsql_vector_idx\((.*)\)\s*\)/.exec(String(migrated.rows[0]?.sql))?.[1] ?? "?";
  try {
    if (values.index !== undefined && !reuse) {
      // Built the same way, row by row as the seed inserts, with other options.
      const options = values.index.split(";").map((o) => `'${o.replace(/'/g, "")}'`);
      await db.client.execute("DROP INDEX notes_embedding_idx");
      await db.client.execute(
        `CREATE INDEX notes_embedding_idx ON notes (libsql_vector_idx(embedding, 'metric=cosine', ${options.join(", ")}))`,
      );
      index = `"embedding", 'metric=cosine', ${options.join(", ")}`;
    }
    // ── seed ──
    let seedSeconds = Number.NaN;
    if (!reuse) seedSeconds = await seed(db, rows);
    else process.stderr.write(`  ${path} already holds ${rows} rows: not seeded again\n`);
    const out: SizeResult[] = [];
    for (const searchL of searchLs) {
      const used = await setSearchL(db.client, searchL);
      process.stderr.write(`  ${rows} rows, search_l ${used}:\n`);
      out.push({ ...(await measure(db, url, rows, index, seedSeconds)), searchL: used });
    }
    return out;
  } finally {
    db.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

type Db = Awaited<ReturnType<typeof openNodeDatabase>>;

/** Inserts `rows` notes in batches of 500, printing progress; returns the seconds it took. */
async function seed(db: Db, rows: number): Promise<number> {
  {
    const r = rng(rows);
    const started = performance.now();
    const now = new Date().toISOString();
    const batch = 500;
    let lastDone = 0;
    let lastAt = started;
    for (let from = 0; from < rows; from += batch) {
      const statements = [];
      for (let i = from; i < Math.min(rows, from + batch); i++) {
        const c = Math.floor(r() * centroids);
        const title = Array.from({ length: 4 }, () => word(r)).join(" ");
        const body = Array.from({ length: 20 }, () => word(r)).join(" ");
        statements.push({
          sql: "INSERT INTO notes (id, created, updated, owner, title, body, public, embedding, embedding_status) VALUES (?, ?, ?, ?, ?, ?, ?, vector32(?), 'ready')",
          args: [
            `nte_${i.toString(16).padStart(16, "0")}`,
            now,
            now,
            `usr_${(i % 1000).toString(16).padStart(16, "0")}`,
            title,
            body,
            r() < 0.9 ? 1 : 0,
            vec(point(r, c)),
          ],
        });
      }
      await db.client.batch(statements, "write");
      const done = from + statements.length;
      if ((from / batch) % 4 === 3 || done === rows) {
        // Progress: the index build is the slow part (tens of minutes at 100k).
        const t = (performance.now() - started) / 1000;
        const recent = (done - lastDone) / ((performance.now() - lastAt) / 1000);
        lastDone = done;
        lastAt = performance.now();
        process.stderr.write(
          `  seeding ${rows}: ${done} rows, ${t.toFixed(0)} s, ${recent.toFixed(0)} rows/s now, ~${((rows - done) / recent / 60).toFixed(0)} min left\n`,
        );
      }
    }
    const seedSeconds = (performance.now() - started) / 1000;
    process.stderr.write(`  seeded ${rows} rows in ${seedSeconds.toFixed(0)} s\n`);
    await db.client.execute("PRAGMA wal_checkpoint(TRUNCATE)");
    return seedSeconds;
  }
}

async function measure(
  db: Db,
  url: string,
  rows: number,
  index: string,
  seedSeconds: number,
): Promise<SizeResult> {
  {
    // ── latency: the search service as the route calls it, anonymous, no cache ──
    const qr = rng(rows + 1);
    const queryVectorOf = new Map<string, number[]>();
    const embedder: Embedder = {
      name: "bench",
      embed: async (texts) => texts.map((t) => queryVectorOf.get(t)!),
    };
    const models = buildModels(collections);
    const service = createSearchService({
      models,
      primary: db.client,
      replica: db.replica,
      now: () => new Date(),
      embedders: async () => embedder,
    });
    const latency: SizeResult["latency"] = {};
    for (const mode of ["keyword", "semantic", "hybrid"] as const) {
      const times: number[] = [];
      for (let i = 0; i < queryCount + 10; i++) {
        const text = `${word(qr)} ${word(qr)} ${mode}${i}`;
        queryVectorOf.set(text, point(qr));
        const q = mode === "keyword" ? text.split(" ").slice(0, 1).join(" ") : text;
        const params: Record<string, string> = { q, mode, k: "10" };
        const t0 = performance.now();
        const answer = await service.search(anonymous, "notes", (n) => params[n]);
        const t = performance.now() - t0;
        if (mode !== "keyword" && answer.items.length !== 10)
          throw new Error(`${mode} answered ${answer.items.length} items`);
        if (i >= 10) times.push(t); // the first ten warm the statement caches
      }
      latency[mode] = {
        p50: percentile(times, 50),
        p99: percentile(times, 99),
        mean: times.reduce((a, b) => a + b, 0) / times.length,
      };
      process.stderr.write(
        `  ${rows} ${mode}: p50 ${ms(latency[mode]!.p50)} ms, p99 ${ms(latency[mode]!.p99)} ms\n`,
      );
    }

    const result: SizeResult = { rows, index, seedSeconds, latency, fileBytes: 0 };
    // ── recall@10 vs brute force (exact distance over every row), on its own connection ──
    if (recallCount > 0) {
      const exact = createClient({ url });
      const rr = rng(rows + 2);
      let hitsIndex = 0;
      let hitsAnswer = 0;
      let bruteMs = 0;
      for (let i = 0; i < recallCount; i++) {
        const q = point(rr);
        const target = vec(q);
        const t0 = performance.now();
        const truthAll = await exact.execute({
          sql: "SELECT id FROM notes ORDER BY vector_distance_cos(embedding, vector32(?)) LIMIT 10",
          args: [target],
        });
        bruteMs += performance.now() - t0;
        const truth = new Set(truthAll.rows.map((x) => String(x.id)));
        const ann = await exact.execute({
          sql: "SELECT notes.id AS id FROM vector_top_k('notes_embedding_idx', vector32(?), 10) AS v JOIN notes ON notes.rowid = v.id",
          args: [target],
        });
        hitsIndex += ann.rows.filter((x) => truth.has(String(x.id))).length;
        // What an anonymous caller gets, against brute force over what they may list.
        const truthPublic = await exact.execute({
          sql: "SELECT id FROM notes WHERE public = 1 ORDER BY vector_distance_cos(embedding, vector32(?)) LIMIT 10",
          args: [target],
        });
        const expected = new Set(truthPublic.rows.map((x) => String(x.id)));
        const text = `recall${i}`;
        queryVectorOf.set(text, q);
        const answer = await service.search(anonymous, "notes", (n) =>
          n === "q" ? text : n === "mode" ? "semantic" : n === "k" ? "10" : undefined,
        );
        hitsAnswer += answer.items.filter((h) => expected.has(String(h.record.id))).length;
      }
      result.recallIndex = hitsIndex / (recallCount * 10);
      result.recallAnswer = hitsAnswer / (recallCount * 10);
      result.bruteForceMs = bruteMs / recallCount;
      exact.close();
      process.stderr.write(
        `  ${rows} recall@10: index ${result.recallIndex.toFixed(3)}, answer ${result.recallAnswer.toFixed(3)}\n`,
      );
    }

    // ── size on disk ──
    const probe = createClient({ url });
    try {
      const rs = await probe.execute(
        "SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC",
      );
      const by = new Map(rs.rows.map((x) => [String(x.name), Number(x.bytes)]));
      result.tableBytes = by.get("notes");
      result.indexBytes = [...by]
        .filter(([n]) => n.startsWith("notes_embedding_idx"))
        .reduce((s, [, b]) => s + b, 0);
      result.ftsBytes = [...by]
        .filter(([n]) => n.startsWith("notes_fts"))
        .reduce((s, [, b]) => s + b, 0);
    } catch (err) {
      process.stderr.write(`  dbstat unavailable: ${(err as Error).message}\n`);
    } finally {
      probe.close();
    }
    result.fileBytes = statSync(url.slice("file:".length)).size;
    return result;
  }
}

const mib = (b: number | undefined) => (b === undefined ? "—" : `${(b / 1048576).toFixed(1)} MiB`);
const load = loadavg()
  .map((x) => x.toFixed(1))
  .join(" / ");
const results: SizeResult[] = [];
for (const rows of sizes) results.push(...(await runSize(rows)));
const loadAfter = loadavg()
  .map((x) => x.toFixed(1))
  .join(" / ");

const date = new Date().toISOString().slice(0, 10);
const lines = [
  `# Search benchmark, ${date}`,
  "",
  `\`npm run bench:search\` (bench/search.ts). Machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"}, shared with other`,
  `sessions and loaded (load average ${load} at start, ${loadAfter} at the end): absolute times are`,
  "pessimistic and noisy; compare runs on the same machine only.",
  "",
  `Node home's embedded libSQL file (WAL, read connections off the event loop), \`notes\` with ${dims}-dimension`,
  `vectors seeded straight into the table (--data ${values.data}: ${centroids} clusters, no embedder), 90% public, FTS5`,
  `kept by the triggers. Latency: ${queryCount} distinct queries per mode through the search service as an`,
  "anonymous caller (list rule applied, k = 10, no HTTP, no cache; the query embedder is in-process),",
  "after 10 warm-up queries.",
  "",
  "| rows | vector index | seed (incl. index build) | keyword p50 / p99 | semantic p50 / p99 | hybrid p50 / p99 |",
  "| --- | --- | --- | --- | --- | --- |",
  ...results.map(
    (r) =>
      `| ${r.rows.toLocaleString("en")} | \`libsql_vector_idx(${r.index})\`, search_l ${r.searchL ?? "?"} | ${Number.isNaN(r.seedSeconds) ? "(reused file)" : `${r.seedSeconds.toFixed(0)} s (${Math.round(r.rows / r.seedSeconds)} rows/s)`} | ${ms(r.latency.keyword!.p50)} / ${ms(r.latency.keyword!.p99)} ms | ${ms(r.latency.semantic!.p50)} / ${ms(r.latency.semantic!.p99)} ms | ${ms(r.latency.hybrid!.p50)} / ${ms(r.latency.hybrid!.p99)} ms |`,
  ),
  "",
  `Recall@10 against brute force (exact cosine distance over every row), ${recallCount} queries near random centroids:`,
  "",
  "| rows | index alone (`vector_top_k`, k = 10) | semantic answer (100 candidates, exact re-rank, list rule) | brute-force query | file | table | vector index | FTS5 |",
  "| --- | --- | --- | --- | --- | --- | --- | --- |",
  ...results.map(
    (r) =>
      `| ${r.rows.toLocaleString("en")}, search_l ${r.searchL ?? "?"} | ${r.recallIndex?.toFixed(3) ?? "—"} | ${r.recallAnswer?.toFixed(3) ?? "—"} | ${r.bruteForceMs === undefined ? "—" : `${r.bruteForceMs.toFixed(0)} ms`} | ${mib(r.fileBytes)} | ${mib(r.tableBytes)} | ${mib(r.indexBytes)} | ${mib(r.ftsBytes)} |`,
  ),
  "",
];
const out = values.out ?? `bench/results/search-${date}.md`;
writeFileSync(out, lines.join("\n"));
console.log(lines.join("\n"));
console.log(`written to ${out}`);
