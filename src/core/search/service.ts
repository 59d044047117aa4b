import type { Client, Row } from "@libsql/client";
import { type SQL, sql } from "drizzle-orm";
import { ApiError } from "../kernel/errors";
import type { Principal } from "../kernel/principal";
import { FilterError } from "../query/ast";
import { compileFilter } from "../query/compile";
import { parseFilterOnce } from "../query/parser";
import { isRecordId } from "../records/ids";
import { filterProblem, parseFieldList } from "../records/list-params";
import { compileContext, type Models } from "../records/model";
import { condition, type RecordContext, where } from "../records/read";
import { fieldsOf, fromRow, selectList, statement } from "../records/sql";
import type { EmbedderSource } from "./embed";
import { EmbedderError } from "./embedder";
import { ftsQuery, hasFullText } from "./fts";
import { type ResolvedVector, resolveVector } from "./spec";
import { ftsTableName, vectorIndexName } from "./sql";

export type SearchMode = "keyword" | "semantic" | "hybrid";
export const searchQueryParams = ["q", "k", "filter", "mode", "near", "fields"] as const;
export const maxK = 100;
export const defaultK = 10;
/** Reciprocal rank fusion's constant (the usual 60): score = Σ 1 / (60 + rank). */
export const rrfK = 60;

export interface SearchHit {
  id: string;
  record: Record<string, unknown>;
  score: number;
  distance?: number;
}

export interface SearchDeps {
  models: Models;
  primary: Client;
  replica: Client;
  now(): Date;
  embedders: EmbedderSource;
}

function bad(param: string, message: string): ApiError {
  return new ApiError("INVALID_QUERY", `${param}: ${message}`, {
    errors: [{ path: `/${param}`, message }],
  });
}

const queryVectors = new Map<string, string>();

/**
 * Search over one collection: keyword (FTS5, bm25), semantic (libSQL vector_top_k, exact
 * distance order) or hybrid (both fused by reciprocal rank). Every candidate passes the
 * collection's list rule and the client's filter inside the SQL, so a caller finds only what
 * they may list; only readable fields come back. An approximate (index) pass that leaves fewer
 * than k visible hits after the rule is completed by an exact scan of what the caller may list.
 */
export function createSearchService(deps: SearchDeps) {
  async function queryVector(v: ResolvedVector, text: string): Promise<string> {
    const key = `${v.embedder}\n${text}`;
    const hit = queryVectors.get(key);
    if (hit !== undefined) return hit;
    const embedder = await deps.embedders(v.embedder);
    if (embedder === undefined)
      throw new ApiError(
        "NOT_IMPLEMENTED",
        `Semantic search needs an embedder; none named ${v.embedder} is configured (EMBEDDINGS_URL).`,
      );
    let vectors: number[][];
    try {
      vectors = await embedder.embed([text], "query");
    } catch (err) {
      if (err instanceof EmbedderError)
        throw new ApiError("UNAVAILABLE", "The embedder did not answer; try again shortly.", {
          headers: { "retry-after": "5" },
        });
      throw err;
    }
    const json = JSON.stringify(vectors[0]);
    if (vectors[0]?.length !== v.dimensions)
      throw new ApiError("UNAVAILABLE", "The embedder answered a vector of the wrong size.");
    if (queryVectors.size >= 256) queryVectors.delete(queryVectors.keys().next().value!);
    queryVectors.set(key, json);
    return json;
  }

  return {
    async search(
      principal: Principal,
      name: string,
      query: (param: string) => string | undefined,
      read?: { fresh?: boolean },
    ) {
      const model = deps.models.get(name);
      if (model === undefined)
        throw new ApiError(
          "UNKNOWN_COLLECTION",
          `There is no collection ${JSON.stringify(name.slice(0, 64))}.`,
        );
      const vector = model.def.options.vector && resolveVector(model.def.options.vector);
      const fullText = hasFullText(model);
      if (!fullText && vector === undefined)
        throw new ApiError("NOT_FOUND", `${model.name} declares neither search nor vector.`);
      const ctx: RecordContext = {
        models: deps.models,
        principal,
        now: deps.now(),
        read: read?.fresh ? deps.primary : deps.replica,
        write: deps.primary,
      };
      const kRaw = query("k");
      if (kRaw !== undefined && (!/^\d{1,3}$/.test(kRaw) || +kRaw < 1 || +kRaw > maxK))
        throw bad("k", `must be a whole number from 1 to ${maxK}`);
      const k = kRaw === undefined ? defaultK : Number(kRaw);
      const near = query("near");
      const q = query("q")?.trim() || undefined;
      if ((near === undefined) === (q === undefined))
        throw bad(q === undefined ? "q" : "near", "give exactly one of q and near");
      const modeRaw = query("mode");
      const mode: SearchMode =
        modeRaw === undefined
          ? near !== undefined || !fullText
            ? "semantic"
            : vector === undefined
              ? "keyword"
              : "hybrid"
          : (modeRaw as SearchMode);
      if (!["keyword", "semantic", "hybrid"].includes(mode))
        throw bad("mode", "must be keyword, semantic or hybrid");
      if (mode !== "semantic" && !fullText)
        throw bad("mode", `${model.name} has no full-text search; use mode=semantic`);
      if (mode !== "keyword" && vector === undefined)
        throw bad("mode", `${model.name} has no vector field; use mode=keyword`);
      if (near !== undefined && mode !== "semantic") throw bad("near", "works with semantic mode");
      const keys = (parseFieldList(model, query("fields"), "fields") ?? model.readable).filter(
        (f) => !model.encrypted.has(f),
      );
      const fields = fieldsOf(model, [...new Set(["id", ...keys])]);
      let filter: SQL | undefined;
      const filterText = query("filter");
      if (filterText !== undefined && filterText.trim() !== "") {
        try {
          filter = compileFilter(
            parseFilterOnce(filterText),
            compileContext(model, principal, ctx.now, false),
          );
        } catch (err) {
          if (err instanceof FilterError) throw filterProblem(err);
          throw err;
        }
      }
      const visible = [condition(ctx, model, "list"), filter];
      const shape = (row: Row) => {
        const full = fromRow(fields, row);
        return Object.fromEntries(keys.map((key) => [key, full[key]]));
      };
      const n = mode === "hybrid" ? Math.max(k * 3, 30) : k;

      const keyword = async (): Promise<SearchHit[]> => {
        const fts = sql.identifier(ftsTableName(model.table));
        const rs = await ctx.read.execute(
          statement(
            sql`SELECT ${selectList(fields)}, bm25(${fts}) AS "_s" FROM ${fts} JOIN ${model.table} ON ${model.table}.rowid = ${fts}.rowid WHERE ${where([sql`${fts} MATCH ${ftsQuery(q!)}`, ...visible])} ORDER BY "_s" LIMIT ${n}`,
          ),
        );
        return rs.rows.map((r) => ({ id: String(r.id), record: shape(r), score: -Number(r._s) }));
      };

      const semantic = async (): Promise<SearchHit[]> => {
        const v = vector!;
        const column = model.fields.get(v.field)!.column;
        const idColumn = model.fields.get("id")!.column;
        let target: string;
        let exclude: SQL | undefined;
        if (near !== undefined) {
          if (!isRecordId(near)) throw bad("near", "is not a record id");
          const rs = await ctx.read.execute(
            statement(
              sql`SELECT vector_extract(${column}) AS v FROM ${model.table} WHERE ${where([condition(ctx, model, "view"), sql`${idColumn} = ${near}`])}`,
            ),
          );
          if (rs.rows.length === 0)
            throw new ApiError("NOT_FOUND", `No ${model.name} record ${JSON.stringify(near)}.`);
          if (rs.rows[0]!.v === null)
            throw bad("near", "that record has no embedding yet (its embeddingStatus says why)");
          target = String(rs.rows[0]!.v);
          exclude = sql`${idColumn} != ${near}`;
        } else target = await queryVector(v, q!);
        const distance = sql`${sql.raw(v.metric === "l2" ? "vector_distance_l2" : "vector_distance_cos")}(${column}, vector32(${target}))`;
        const index = vectorIndexName(model.table, v.field);
        const candidates = Math.min(Math.max(n * 10, 100), 2000);
        const ann = await ctx.read.execute(
          statement(
            sql`SELECT ${selectList(fields)}, ${distance} AS "_d" FROM vector_top_k(${index}, vector32(${target}), ${candidates}) AS "_v" JOIN ${model.table} ON ${model.table}.rowid = "_v".id WHERE ${where([...visible, exclude])} ORDER BY "_d" LIMIT ${n}`,
          ),
        );
        let rows = ann.rows;
        // The rule or filter left too few of the index's candidates: finish exactly over what
        // the caller may list (pgvector's iterative scan, done in one step).
        if (rows.length < n)
          rows = (
            await ctx.read.execute(
              statement(
                sql`SELECT ${selectList(fields)}, ${distance} AS "_d" FROM ${model.table} WHERE ${where([sql`${column} IS NOT NULL`, ...visible, exclude])} ORDER BY "_d" LIMIT ${n}`,
              ),
            )
          ).rows;
        return rows.map((r) => {
          const d = Number(r._d);
          const score = v.metric === "l2" ? -d : 1 - d;
          return { id: String(r.id), record: shape(r), score, distance: d };
        });
      };

      let items: SearchHit[];
      if (mode === "keyword") items = await keyword();
      else if (mode === "semantic") items = await semantic();
      else {
        const [a, b] = await Promise.all([keyword(), semantic()]);
        const fused = new Map<string, SearchHit>();
        for (const list of [a, b])
          list.forEach((hit, i) => {
            const prior = fused.get(hit.id);
            const add = 1 / (rrfK + i + 1);
            if (prior === undefined) fused.set(hit.id, { ...hit, score: add });
            else {
              prior.score += add;
              prior.distance ??= hit.distance;
            }
          });
        items = [...fused.values()].sort((x, y) => y.score - x.score).slice(0, k);
      }
      return {
        mode,
        items: items.map(({ record, score, distance }) =>
          distance === undefined ? { score, record } : { score, distance, record },
        ),
      };
    },
  };
}

export type SearchService = ReturnType<typeof createSearchService>;
