-- The notes vector index with measured settings (src/core/search/spec.ts VectorIndexOptions,
-- README "Search", bench/results/search-2026-12-07.md): neighbours kept as 1-bit vectors instead
-- of libSQL's default float32 copies (≈5.4 KiB per row instead of ≈80 KiB at 384 dimensions,
-- inserts several times faster), search_l stated explicitly. Written by hand (drizzle-kit does
-- not write vector indexes): src/core/search/sql.ts searchMigrationSql emits the same CREATE.
-- The index is rebuilt row by row from the table: on a large table this takes a while
-- (measured ~50 rows/s on a loaded 2-core machine) and holds the write lock meanwhile.
DROP INDEX IF EXISTS "notes_embedding_idx";
--> statement-breakpoint
CREATE INDEX "notes_embedding_idx" ON "notes" (libsql_vector_idx("embedding", 'metric=cosine', 'compress_neighbors=float1bit', 'search_l=200'));
