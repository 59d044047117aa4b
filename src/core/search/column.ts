import { customType, text } from "drizzle-orm/sqlite-core";

/**
 * A libSQL vector column, `F32_BLOB(dimensions)`: float32 values, read and written as blobs
 * (`vector32('[…]')` in SQL). drizzle-kit writes the column type as given; the vector index is
 * hand-written SQL (src/core/search/sql.ts), since drizzle-kit does not know it.
 */
export function vector(dimensions: number) {
  return customType<{ data: Uint8Array; driverData: ArrayBuffer | Uint8Array }>({
    dataType: () => `F32_BLOB(${dimensions})`,
  })();
}

/**
 * The two columns a collection with `vector` needs: the embedding (`F32_BLOB(n)`, hidden and
 * written only by the embedding job) and its status (`pending` until embedded, `ready`, or
 * `failed` after the last retry), which clients read.
 */
export function embeddingColumns(dimensions: number) {
  return {
    embedding: vector(dimensions),
    embeddingStatus: text({ enum: ["pending", "ready", "failed"] })
      .notNull()
      .default("pending"),
  };
}
