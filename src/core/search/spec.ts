import { getTableColumns } from "drizzle-orm";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";

/** A collection's vector field: what is embedded, into which column, by which embedder. */
export interface VectorOptions {
  /** The `F32_BLOB(dimensions)` column (embeddingColumns(n) makes it); default "embedding". */
  field?: string;
  /** The column holding pending/ready/failed; default "embeddingStatus". */
  status?: string;
  dimensions: number;
  /** Text fields joined (in this order, one per line) into the text that is embedded. */
  source: string[];
  /** A configured embedder's name; "default" is EMBEDDINGS_URL (see README "Search"). */
  embedder?: string;
  /** Distance for the index and for search; default cosine. */
  metric?: "cosine" | "l2";
  /**
   * The vector index's settings (libSQL's DiskANN `libsql_vector_idx` options). Changing them
   * means a migration that drops and recreates the index (it is rebuilt row by row). README
   * "Search" has what each costs, measured at 100k rows.
   */
  index?: VectorIndexOptions;
}

export interface VectorIndexOptions {
  /**
   * How each graph node stores its neighbours' vectors (used to pick the route; every visited
   * node is then compared exactly): `float1bit` (1 bit per dimension, cosine only), `float8`,
   * `float16`, `floatb16` or `float32` (uncompressed: libSQL's own default, ≈80 KiB per row at
   * 384 dimensions). Default: float1bit for cosine, float8 for l2.
   */
  compressNeighbors?: "float1bit" | "float8" | "float16" | "floatb16" | "float32";
  /** Edges per node (default libSQL's: 3·(√dimensions + 1), capped). Fewer lose recall fast. */
  maxNeighbors?: number;
  /** Candidates kept while searching: recall against latency. Default defaultSearchL. */
  searchL?: number;
  /** Candidates kept while inserting: graph quality against insert cost (default libSQL's 70). */
  insertL?: number;
  /** Edge pruning factor, 1–2 (default libSQL's 1.2). */
  alpha?: number;
}

/** Nearbase's search_l (libSQL's own is 200); see README "Search" for the measurements. */
export const defaultSearchL = 200;

export interface ResolvedVector {
  field: string;
  status: string;
  dimensions: number;
  source: string[];
  embedder: string;
  metric: "cosine" | "l2";
  index: VectorIndexOptions & Required<Pick<VectorIndexOptions, "compressNeighbors" | "searchL">>;
}

/**
 * The embedders a collection may name: "default" is the OpenAI-compatible endpoint at
 * EMBEDDINGS_URL (src/core/search/embedders.ts).
 */
export const embedderNames = ["default"] as const;

/** Most fields one collection may index for full-text search. */
export const maxSearchFields = 8;
/** Largest vector we accept (libSQL allows more; an index row of 4096 floats is already 16 KiB). */
export const maxDimensions = 4096;

export function resolveVector(options: VectorOptions): ResolvedVector {
  return {
    field: options.field ?? "embedding",
    status: options.status ?? "embeddingStatus",
    dimensions: options.dimensions,
    source: options.source,
    embedder: options.embedder ?? "default",
    metric: options.metric ?? "cosine",
    index: {
      ...options.index,
      compressNeighbors:
        options.index?.compressNeighbors ??
        ((options.metric ?? "cosine") === "cosine" ? "float1bit" : "float8"),
      searchL: options.index?.searchL ?? defaultSearchL,
    },
  };
}

/** The `libsql_vector_idx` options of a resolved vector field, in the order libSQL documents. */
export function vectorIndexOptions(v: ResolvedVector): string[] {
  const i = v.index;
  return [
    `metric=${v.metric}`,
    `compress_neighbors=${i.compressNeighbors}`,
    ...(i.maxNeighbors === undefined ? [] : [`max_neighbors=${i.maxNeighbors}`]),
    ...(i.alpha === undefined ? [] : [`alpha=${i.alpha}`]),
    `search_l=${i.searchL}`,
    ...(i.insertL === undefined ? [] : [`insert_l=${i.insertL}`]),
  ];
}

interface Declared {
  hidden?: string[];
  encrypted?: string[];
  search?: string[];
  vector?: VectorOptions;
}

/**
 * Checks `search` and `vector` when the collection is declared: every field a text column that
 * clients may read (a hidden or encrypted field in an index would let a search probe its
 * content), the vector column an `F32_BLOB` of the declared size.
 */
export function checkSearchOptions(name: string, table: SQLiteTable, options: Declared): void {
  const columns = getTableColumns(table) as Record<string, SQLiteColumn>;
  const textField = (what: string, key: string) => {
    const column = columns[key];
    if (column === undefined)
      throw new Error(`Collection ${name}: ${what} names unknown field ${key}.`);
    if (column.dataType !== "string" || column.columnType === "SQLiteTextJson")
      throw new Error(`Collection ${name}: ${what} field ${key} must be a text column.`);
    if (options.hidden?.includes(key) || options.encrypted?.includes(key))
      throw new Error(
        `Collection ${name}: ${what} field ${key} is hidden or encrypted; searching it would reveal it.`,
      );
  };
  if (options.search !== undefined) {
    if (options.search.length === 0 || options.search.length > maxSearchFields)
      throw new Error(`Collection ${name}: search takes 1 to ${maxSearchFields} fields.`);
    if (new Set(options.search).size !== options.search.length)
      throw new Error(`Collection ${name}: search names a field twice.`);
    for (const key of options.search) textField("search", key);
  }
  if (options.vector !== undefined) {
    const v = resolveVector(options.vector);
    if (!Number.isInteger(v.dimensions) || v.dimensions < 1 || v.dimensions > maxDimensions)
      throw new Error(`Collection ${name}: vector dimensions must be 1 to ${maxDimensions}.`);
    const column = columns[v.field];
    if (column?.getSQLType() !== `F32_BLOB(${v.dimensions})`)
      throw new Error(
        `Collection ${name}: vector field ${v.field} must be an F32_BLOB(${v.dimensions}) column (embeddingColumns(${v.dimensions})).`,
      );
    if (columns[v.status]?.dataType !== "string" || !columns[v.status]!.notNull)
      throw new Error(
        `Collection ${name}: vector status field ${v.status} must be a non-null text column.`,
      );
    if (v.source.length === 0) throw new Error(`Collection ${name}: vector source is empty.`);
    for (const key of v.source) textField("vector source", key);
    if (v.metric !== "cosine" && v.metric !== "l2")
      throw new Error(`Collection ${name}: vector metric must be cosine or l2.`);
    const i = v.index;
    const compressions = ["float1bit", "float8", "float16", "floatb16", "float32"];
    if (!compressions.includes(i.compressNeighbors))
      throw new Error(
        `Collection ${name}: vector index compressNeighbors must be one of ${compressions.join(", ")}.`,
      );
    if (i.compressNeighbors === "float1bit" && v.metric !== "cosine")
      throw new Error(
        `Collection ${name}: vector index compressNeighbors float1bit works with the cosine metric only.`,
      );
    const whole = (key: string, value: number | undefined, min: number, max: number) => {
      if (value !== undefined && (!Number.isInteger(value) || value < min || value > max))
        throw new Error(
          `Collection ${name}: vector index ${key} must be a whole number from ${min} to ${max}.`,
        );
    };
    whole("maxNeighbors", i.maxNeighbors, 2, 512);
    whole("searchL", i.searchL, 10, 5000);
    whole("insertL", i.insertL, 10, 5000);
    if (i.alpha !== undefined && !(i.alpha >= 1 && i.alpha <= 2))
      throw new Error(`Collection ${name}: vector index alpha must be from 1 to 2.`);
    // A name nothing provides would leave every record pending without a word: refuse it here.
    if (!(embedderNames as readonly string[]).includes(v.embedder))
      throw new Error(
        `Collection ${name}: embedder ${JSON.stringify(v.embedder)} is not one Nearbase provides (${embedderNames.join(", ")}).`,
      );
  }
}

/** The fields `defineCollection` makes server-managed: the vector is hidden, both read-only. */
export function searchManagedFields(options: Declared): { hidden: string[]; readonly: string[] } {
  if (options.vector === undefined) return { hidden: [], readonly: [] };
  const v = resolveVector(options.vector);
  return { hidden: [v.field], readonly: [v.field, v.status] };
}
